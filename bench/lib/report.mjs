/** Printing the results: gathered in run.mjs, formatted here. */

const pad = (value, width) => String(value).padStart(width);
const fixed = (value, digits = 2) => (value === null || value === undefined ? '-' : value.toFixed(digits));
const int = (value) => Math.round(value).toLocaleString('en-US');

export function printConfig(config, machine) {
  console.log(`Plinth bench: node ${machine.node}, ${machine.cpus.count} x ${machine.cpus.model}, ${machine.os.type} ${machine.os.release} ${machine.os.arch}`);
  console.log(
    `duration ${config.duration} s (+${config.warmup} s warm-up), ${config.connections} connections, pipelining ${config.pipelining}, ` +
      `${config.rows} rows, ${config.ids} ids; load from a separate process to 127.0.0.1, one scenario at a time\n`,
  );
}

export function printTable(results) {
  const head = ['scenario', 'req/s', 'p50 ms', 'p99 ms', 'errors', 'non-2xx', 'server CPU', 'µs/req', 'load CPU', 'other CPU', 'DB µs/req'];
  const widths = [22, 10, 8, 8, 7, 8, 11, 8, 9, 10, 10];
  console.log(head.map((h, i) => (i === 0 ? h.padEnd(widths[0]) : pad(h, widths[i]))).join(''));
  for (const r of results) {
    if (!r.ok && !r.measurement) {
      console.log(`${r.name.padEnd(widths[0])}FAILED: ${r.error.split('\n')[0]}`);
      continue;
    }
    const m = r.measurement;
    const cells = [
      int(m.requestsPerSec),
      fixed(m.latencyMs.p50),
      fixed(m.latencyMs.p99),
      m.errors,
      m.non2xx,
      `${fixed(m.serverCpuPercent, 0)}%`,
      fixed(m.serverCpuUsPerRequest, 1),
      `${fixed(m.loadGeneratorCpuPercent, 0)}%`,
      `${fixed(m.otherCpuPercent, 0)}%`,
      fixed(m.databaseCpuUsPerRequest, 1),
    ];
    console.log(r.name.padEnd(widths[0]) + cells.map((c, i) => pad(c, widths[i + 1])).join(''));
  }
  console.log('');
}

export function printRatios(ratios) {
  if (ratios.length === 0) return;
  console.log('ratios to the floor, same run: req/s (scenario / floor) and server CPU per request (floor / scenario):');
  for (const r of ratios) {
    const value =
      r.ratio === null ? `n/a (${r.missing})` : `req/s ${fixed(r.ratio * 100, 1).padStart(5)}%   CPU/req ${fixed(r.cpuRatio * 100, 1).padStart(5)}%`;
    console.log(`  ${r.scenario.padEnd(20)} vs ${r.floor.padEnd(20)} ${value}`);
  }
  console.log('');
}

export function printTargets(targets) {
  for (const t of targets) {
    if (t.minReqPerSec !== undefined) {
      const absolute = t.reqPerSec === null ? 'SKIPPED (not measured)' : `${t.pass ? 'PASS' : 'FAIL'} (${Math.round(t.reqPerSec)} req/s; a measurement, not a test)`;
      console.log(`target: ${t.scenario} >= ${t.minReqPerSec} req/s: ${absolute}`);
      continue;
    }
    const verdict = t.ratio === null ? 'SKIPPED (not measured)' : `${t.pass ? 'PASS' : 'FAIL'} (${fixed(t.ratio * 100, 1)}%; a measurement, not a test)`;
    console.log(`target: ${t.scenario} >= ${t.min * 100}% of ${t.floor} req/s: ${verdict}`);
  }
}

export function printWarnings(results) {
  for (const r of results) {
    for (const warning of r.warnings ?? []) console.log(`warning: ${r.name}: ${warning}`);
    if (!r.ok) console.log(`error: ${r.name}: ${r.error}`);
  }
}
