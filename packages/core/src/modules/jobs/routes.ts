import { jobsRoutes } from '../../contract/jobs.js';
import { implement } from '../../module.js';
import { callerOf } from '../access/routes.js';
import type { JobsService } from './service.js';

const jobs = (ctx: { kernel: { service<S>(name: string): S } }) => ctx.kernel.service<JobsService>('jobs');

/** The admin routes of the job queue: parse, call the service, answer. */
export const jobsRouteImplementations = [
  implement(jobsRoutes.listJobs, (ctx) => jobs(ctx).list(ctx.query, callerOf(ctx))),
  implement(jobsRoutes.getJob, (ctx) => jobs(ctx).get(ctx.params.id, callerOf(ctx))),
  implement(jobsRoutes.retryJob, (ctx) => jobs(ctx).retry(ctx.params.id, callerOf(ctx))),
  implement(jobsRoutes.cancelJob, (ctx) => jobs(ctx).cancel(ctx.params.id, callerOf(ctx))),
];
