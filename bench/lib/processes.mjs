/**
 * Child processes of the runner: every one is tracked and killed when the
 * runner exits, is interrupted (ctrl-c), or a step overruns its deadline.
 */
import { fork } from 'node:child_process';

const children = new Set();
let interrupted = false;

/** True once the runner got SIGINT/SIGTERM/SIGHUP: start nothing new. */
export const isInterrupted = () => interrupted;

function killAll() {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}

process.on('exit', killAll);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.once(signal, () => {
    interrupted = true;
    console.error(`\n${signal}: stopping the bench`);
    // Let the children close and delete their temp dirs; the exit hook kills stragglers.
    const exits = [...children].map((child) => new Promise((resolve) => child.once('exit', resolve)));
    for (const child of children) child.kill('SIGTERM');
    const grace = new Promise((resolve) => setTimeout(resolve, 2000).unref());
    void Promise.race([Promise.all(exits), grace]).then(() => process.exit(130));
  });
}

/** Forks a node script with IPC; stdout and stderr are kept (last 8 KiB) for error reports. */
export function spawnTracked(script, args = [], { execArgv = [] } = {}) {
  if (interrupted) throw new Error('interrupted');
  const child = fork(script, args, { stdio: ['ignore', 'pipe', 'pipe', 'ipc'], execArgv });
  children.add(child);
  let output = '';
  const keep = (chunk) => {
    output = (output + chunk).slice(-8192);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  exited.then(() => children.delete(child));
  return { child, exited, output: () => output };
}

/** Resolves with the first IPC message of `type`; rejects on a `failed` message, an exit, or the deadline. */
export function nextMessage(tracked, type, timeoutMs, what) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => done(new Error(`${what}: no answer within ${Math.round(timeoutMs / 1000)} s`)), timeoutMs);
    const onMessage = (message) => {
      if (message?.type === type) done(undefined, message);
      else if (message?.type === 'failed') done(new Error(`${what} failed:\n${message.message}`));
    };
    const onExit = (code, signal) => done(new Error(`${what} exited (${signal ?? `code ${code}`}) before "${type}"\n${tracked.output()}`));
    function done(error, message) {
      clearTimeout(timer);
      tracked.child.off('message', onMessage);
      tracked.child.off('exit', onExit);
      if (error) reject(error);
      else resolve(message);
    }
    tracked.child.on('message', onMessage);
    tracked.child.once('exit', onExit);
  });
}

/** Asks a child to stop, then kills it if it has not exited within `graceMs`. */
export async function stopChild(tracked, graceMs = 10_000) {
  if (tracked.child.exitCode !== null || tracked.child.signalCode !== null) return tracked.exited;
  // With a callback, a channel that closed meanwhile is an error passed here, not an 'error' event.
  if (tracked.child.connected) tracked.child.send({ type: 'stop' }, (error) => error && tracked.child.kill('SIGTERM'));
  else tracked.child.kill('SIGTERM');
  const timer = setTimeout(() => tracked.child.kill('SIGKILL'), graceMs);
  const exit = await tracked.exited;
  clearTimeout(timer);
  return exit;
}
