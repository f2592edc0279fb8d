/** No-op jobs on sqlite, claimed 100 at a time (completions recorded in batches): jobs/s stand for req/s. */
import { measureJobs } from '../lib/jobs.mjs';

export const summary = 'no-op jobs on sqlite, concurrency 10, batch size 100';
export const loop = true;

export const measure = () => measureJobs({ dialect: 'sqlite', batchSize: 100 });
