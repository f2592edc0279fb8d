import type { KernelContext } from '../../module.js';
import type { Job, JobQuery } from '../../jobs/types.js';
import type { JobPage } from '../../jobs/queue.js';
import { jobsError } from '../../jobs/errors.js';
import type { AuditService } from '../audit/index.js';
import type { Caller } from '../identity/types.js';

/** The jobs module's services: the job queue for callers, each call checked against `jobs:read` / `jobs:write`. */
export interface JobsService {
  list(query: JobQuery, caller: Caller): Promise<JobPage>;
  get(id: string, caller: Caller): Promise<Job>;
  /** Runs a dead, cancelled or waiting job now; audited `jobs.job.retried`. */
  retry(id: string, caller: Caller): Promise<Job>;
  /** Cancels a queued job; audited `jobs.job.cancelled`. */
  cancel(id: string, caller: Caller): Promise<Job>;
}

export function createJobsService(kernel: KernelContext): JobsService {
  const audit = () => kernel.optionalService<AuditService>('audit');
  const record = async (caller: Caller, action: string, job: Job, data: Record<string, unknown>) =>
    audit()?.record(caller, { action, target: { type: 'job', id: job.id }, data: { type: job.type, ...data } });

  return {
    async list(query, caller) {
      await kernel.authorize(caller.actor, 'jobs:read');
      return kernel.jobs.list(query);
    },
    async get(id, caller) {
      await kernel.authorize(caller.actor, 'jobs:read');
      const job = await kernel.jobs.get(id);
      if (!job) throw jobsError('jobs.not_found', 'No such job');
      return job;
    },
    async retry(id, caller) {
      await kernel.authorize(caller.actor, 'jobs:write');
      return kernel.transaction(async () => {
        const before = await kernel.jobs.get(id);
        const job = await kernel.jobs.retry(id);
        await record(caller, 'jobs.job.retried', job, { from: before?.state ?? null });
        return job;
      });
    },
    async cancel(id, caller) {
      await kernel.authorize(caller.actor, 'jobs:write');
      return kernel.transaction(async () => {
        const job = await kernel.jobs.cancel(id);
        await record(caller, 'jobs.job.cancelled', job, {});
        return job;
      });
    },
  };
}
