/** Floor of the PostgreSQL job scenarios: prepared no-op round trips through Plinth's storage, 10 at once (round trips/s stand for req/s). */
import { measureRoundTrips } from '../lib/jobs.mjs';

export const summary = 'prepared select $1 through storage.prepared on postgres, 10 at once';
export const loop = true;

export const measure = () => measureRoundTrips();
