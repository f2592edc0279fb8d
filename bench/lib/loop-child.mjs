/**
 * Child-process entry for a loop scenario (no HTTP): `node bench/lib/loop-child.mjs <scenario> <config>`.
 * Runs the scenario's `measure` and answers `{ type: 'result', result }` over IPC.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

process.on('disconnect', () => process.exit(1));
const [file, configJson] = process.argv.slice(2);
try {
  const scenario = await import(pathToFileURL(resolve(file)).href);
  const result = await scenario.measure(JSON.parse(configJson));
  process.send({ type: 'result', result });
} catch (error) {
  process.send?.({ type: 'failed', message: String(error?.stack ?? error) });
}
process.disconnect();
