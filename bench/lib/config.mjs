/** Bench settings from `BENCH_*` environment variables; a bad value stops the run before anything starts. */
const KNOBS = {
  duration: { env: 'BENCH_DURATION', default: 10, min: 1, what: 'seconds measured per scenario' },
  warmup: { env: 'BENCH_WARMUP', default: 2, min: 0, what: 'seconds of unmeasured load before each measurement' },
  connections: { env: 'BENCH_CONNECTIONS', default: 50, min: 1, what: 'concurrent keep-alive connections' },
  pipelining: { env: 'BENCH_PIPELINING', default: 1, min: 1, what: 'requests in flight per connection' },
  rows: { env: 'BENCH_ROWS', default: 10_000, min: 1, what: 'rows seeded for the read-row scenarios' },
  rounds: { env: 'BENCH_ROUNDS', default: 1, min: 1, what: 'times the whole plan runs; ratios are the median over rounds' },
  setupTimeout: { env: 'BENCH_SETUP_TIMEOUT', default: 300, min: 1, what: 'seconds a scenario may take to start and seed its server' },
};

export function loadBenchConfig(env = process.env) {
  const config = {};
  for (const [key, knob] of Object.entries(KNOBS)) {
    const raw = env[knob.env];
    const value = raw === undefined || raw === '' ? knob.default : Number(raw);
    if (!Number.isInteger(value) || value < knob.min) {
      throw new Error(`${knob.env} must be a whole number >= ${knob.min} (${knob.what}), got "${raw}"`);
    }
    config[key] = value;
  }
  const ids = env.BENCH_IDS || 'random';
  if (ids !== 'random' && ids !== 'fixed') throw new Error(`BENCH_IDS must be "random" or "fixed", got "${ids}"`);
  config.ids = ids;
  config.cpuProfile = env.BENCH_CPU_PROF === '1';
  config.only = env.BENCH_ONLY ? env.BENCH_ONLY.split(',').map((s) => s.trim()).filter(Boolean) : undefined;
  return config;
}

export const knobs = KNOBS;
