/** CPU time of a PostgreSQL database's backends, read from /proc (the server runs on this machine). */
import { readFileSync } from 'node:fs';

const TICK_MS = 10; // /proc CPU times are in clock ticks (USER_HZ = 100 on Linux)

/** CPU ms used so far by each backend connected to `db`'s database, by pid (none where /proc cannot tell). */
export async function backendCpuMs(db) {
  const rows = await db.selectFrom('pg_stat_activity').select('pid').where('datname', '=', (eb) => eb.fn('current_database', [])).execute();
  const byPid = {};
  for (const { pid } of rows) {
    try {
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
      byPid[pid] = (Number(fields[11]) + Number(fields[12])) * TICK_MS;
    } catch {
      // another machine, or the backend has just gone
    }
  }
  return byPid;
}

/** CPU ms the backends used between two readings of `backendCpuMs` (a backend started meanwhile counts from 0). */
export const cpuSince = (before, after) => Object.entries(after).reduce((sum, [pid, ms]) => sum + ms - (before[pid] ?? 0), 0);
