/** No-op jobs on postgres, claimed one per slot (completion folded into the next claim): jobs/s stand for req/s. */
import { measureJobs } from '../lib/jobs.mjs';

export const summary = 'no-op jobs on postgres, concurrency 10, batch size 1';
export const loop = true;

export const measure = () => measureJobs({ dialect: 'postgres', batchSize: 1 });
