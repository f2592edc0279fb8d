import type { Storage } from '../storage/storage.js';
import type { Job, JobState } from './types.js';

/** A `plinth_jobs` row as the drivers return it. */
export interface JobRow {
  id: string;
  type: string;
  queue: string;
  state: JobState;
  payload: unknown;
  priority: number;
  run_at: string;
  attempts: number;
  max_attempts: number;
  unique_key: string | null;
  ordering_key: string | null;
  order_seq: string | null;
  locked_by: string | null;
  locked_until: string | null;
  last_error: string | null;
  created_at: string;
  updated_at: string;
  finished_at: string | null;
  /** W3C `traceparent` of the request, job or event that created the job. */
  traceparent?: string | null;
}

export function toJob(storage: Storage, row: JobRow): Job {
  return {
    id: row.id,
    type: row.type,
    queue: row.queue,
    state: row.state,
    payload: storage.fromJson(row.payload),
    priority: Number(row.priority),
    attempts: Number(row.attempts),
    maxAttempts: Number(row.max_attempts),
    runAt: row.run_at,
    uniqueKey: row.unique_key,
    lockedBy: row.locked_by,
    lockedUntil: row.locked_until,
    lastError: row.last_error,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    finishedAt: row.finished_at,
  };
}

export const iso = (ms: number): string => new Date(ms).toISOString();

/** Error text kept on a job: the message only (never a stack or payload), at most 2000 characters. */
export function errorText(error: unknown): string {
  const message = error instanceof Error ? `${error.name === 'Error' ? '' : `${error.name}: `}${error.message}` : String(error);
  return message.slice(0, 2000);
}
