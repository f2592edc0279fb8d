/**
 * The floor of sign-in: the same Argon2id verification (OWASP parameters, the
 * defaults) run in a loop, as many at once as the load generator's connections,
 * without HTTP or a database. Sign-in's ratio to it says how much of its cost is
 * the hash itself.
 */
import { hash, verify } from '@node-rs/argon2';

export const summary = 'Argon2id verify (m=19 MiB, t=2, p=1) in a loop, no HTTP';
export const loop = true;

export async function measure({ duration, warmup, connections }) {
  const stored = await hash('bench horse battery staple', { memoryCost: 19_456, timeCost: 2, parallelism: 1 });
  let stop = 0;
  let done = 0;
  const worker = async () => {
    while (performance.now() < stop) {
      if (!(await verify(stored, 'bench horse battery staple'))) throw new Error('verify failed');
      done++;
    }
  };
  const run = async (seconds) => {
    done = 0;
    stop = performance.now() + seconds * 1000;
    const started = performance.now();
    await Promise.all(Array.from({ length: connections }, worker));
    return { ops: done, seconds: (performance.now() - started) / 1000 };
  };
  if (warmup > 0) await run(warmup);
  const cpuBefore = process.cpuUsage();
  const { ops, seconds } = await run(duration);
  const cpu = process.cpuUsage(cpuBefore);
  return { opsPerSec: ops / seconds, ops, seconds, cpuMs: (cpu.user + cpu.system) / 1000 };
}
