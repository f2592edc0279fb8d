import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** packages/core */
export const coreRoot = fileURLToPath(new URL('../..', import.meta.url));
const distIndex = join(coreRoot, 'dist', 'index.js');
/** `file:` URL of the built package, for child processes to `import()`. */
export const coreDistUrl = pathToFileURL(distIndex).href;

function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(path));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts')) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

function isStale(): boolean {
  try {
    return statSync(distIndex).mtimeMs < newestSource(join(coreRoot, 'src'));
  } catch {
    return true;
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Child processes run the built package (packages/core/dist). When it is older
 * than the sources, rebuild it with tsup, once, even when several test files
 * ask at the same time (a lock directory serializes them).
 */
export async function ensureBuiltCore(): Promise<void> {
  if (!isStale()) return;
  const lock = join(tmpdir(), `plinth-core-build-${Buffer.from(coreRoot).toString('hex').slice(-24)}.lock`);
  const deadline = Date.now() + 90_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      // A lock left behind by a killed run expires after two minutes.
      try {
        if (Date.now() - statSync(lock).mtimeMs > 120_000) rmSync(lock, { recursive: true, force: true });
      } catch {}
      if (Date.now() > deadline) throw new Error(`Timed out waiting for the core build lock ${lock}`);
      await sleep(200);
    }
  }
  try {
    if (isStale()) {
      try {
        execFileSync('npx', ['tsup'], { cwd: coreRoot, stdio: 'pipe' });
      } catch (error) {
        const { stdout = '', stderr = '' } = error as { stdout?: Buffer; stderr?: Buffer };
        throw new Error(`Building packages/core (npx tsup) for the child-process tests failed:\n${stdout}${stderr}`);
      }
    }
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/**
 * Starts `node` on an ES module given as source text. It runs in packages/core,
 * so bare imports (`zod`, `kysely`) resolve to the package's dependencies, and
 * finds the built core at `process.env.PLINTH_CORE_URL`.
 */
export function spawnNode(code: string, env: Record<string, string> = {}): ChildProcess {
  return spawn(process.execPath, ['--input-type=module', '-e', code], {
    cwd: coreRoot,
    env: { ...process.env, ...env, PLINTH_CORE_URL: coreDistUrl },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

export interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Collects a child's output until it exits. */
export function exited(child: ChildProcess): Promise<ChildResult> {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/** Resolves when the child prints `line` on stdout; rejects if it exits first or takes too long. */
export function waitForLine(child: ChildProcess, line: string, timeoutMs = 15_000): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = '';
    let errors = '';
    const timer = setTimeout(() => done(new Error(`child did not print ${line} within ${timeoutMs} ms; stderr: ${errors}`)), timeoutMs);
    const onData = (chunk: Buffer) => {
      seen += chunk.toString();
      if (seen.split('\n').includes(line)) done();
    };
    const onErr = (chunk: Buffer) => {
      errors += chunk.toString();
    };
    const onExit = (code: number | null) => done(new Error(`child exited (${code}) before printing ${line}; stderr: ${errors}`));
    function done(error?: Error) {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.stderr?.off('data', onErr);
      child.off('exit', onExit);
      if (error) reject(error);
      else resolve();
    }
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onErr);
    child.on('exit', onExit);
  });
}
