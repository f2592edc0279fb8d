import { existsSync } from 'node:fs';
import { type AddressInfo, createServer, type Socket } from 'node:net';
import { createTestDatabase, dialects, testRedisUrl, type TestDatabase } from '@plinth/core/testing';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { declaredMigrationIds, hasStack, plinthInProcess, prepareDatabase } from './cli.js';

interface DoctorJson {
  ok: boolean;
  checks: { name: string; status: 'ok' | 'warn' | 'fail' | 'skip'; message: string }[];
}
const check = (report: DoctorJson, name: string) => report.checks.find((c) => c.name === name)!;

describe.each(dialects)('plinth doctor on %s', (dialect) => {
  let db: TestDatabase;
  /** Every migration the kernel and the built-in modules declare. */
  let declared: string[];
  beforeAll(async () => {
    declared = await declaredMigrationIds();
  });
  beforeEach(async () => {
    db = await createTestDatabase(dialect);
  });
  afterEach(async () => {
    await db.drop();
  });

  it('passes on a migrated database, as a checklist and as JSON', async () => {
    await (await prepareDatabase(db.url, { migrate: true })).close();

    const human = await plinthInProcess(['doctor', '--database-url', db.url]);
    expect(human.code, human.stdout + human.stderr).toBe(0);
    expect(human.stdout).toMatch(/^✓ database\s+reachable/m);
    expect(human.stdout).toMatch(new RegExp(`^✓ migrations\\s+all ${declared.length} applied`, 'm'));
    expect(human.stdout).toMatch(/^- redis\s+not configured/m);
    expect(human.stdout).toContain('All checks passed.');

    const json = await plinthInProcess(['doctor', '--json', '--database-url', db.url]);
    expect(json.code, json.stdout + json.stderr).toBe(0);
    const report = JSON.parse(json.stdout) as DoctorJson;
    expect(report.ok).toBe(true);
    expect(report.checks.map((c) => [c.name, c.status])).toEqual([
      ['config', 'ok'],
      ['database', 'ok'],
      ['migrations', 'ok'],
      ['redis', 'skip'],
    ]);
  });

  it('reports pending migrations as a problem', async () => {
    await (await prepareDatabase(db.url, { migrate: false })).close();
    const result = await plinthInProcess(['doctor', '--database-url', db.url]);
    expect(result.code, result.stdout + result.stderr).toBe(1);
    const line = result.stdout.split('\n').find((l) => l.startsWith('✗ migrations'));
    expect(line).toMatch(/^✗ migrations\s+/);
    expect(line!.replace(/^✗ migrations\s+/, '')).toBe(`${declared.length} of ${declared.length} pending (${declared.join(', ')}): run \`plinth migrate up\``);
    expect(result.stdout).toContain('1 problem found.');
  });

  it('checks Redis when configured: passes when it answers, fails when it does not', async () => {
    await (await prepareDatabase(db.url, { migrate: true })).close();
    const up = await plinthInProcess(['doctor', '--json', '--database-url', db.url, '--redis-url', testRedisUrl]);
    expect(up.code, up.stdout).toBe(0);
    expect(check(JSON.parse(up.stdout), 'redis').status).toBe('ok');

    const down = await plinthInProcess(['doctor', '--database-url', db.url, '--redis-url', 'redis://127.0.0.1:1']);
    expect(down.code, down.stdout + down.stderr).toBe(1);
    expect(down.stdout).toMatch(/^✗ redis\s+unreachable: .*ECONNREFUSED/m);
    expect(down.ms).toBeLessThan(8000);
  });
});

describe('plinth doctor problems', () => {
  it('fails fast, without a stack, when the database URL points nowhere', async () => {
    const result = await plinthInProcess(['doctor', '--database-url', 'postgres://postgres@127.0.0.1:1/nowhere']);
    expect(result.code, result.stdout + result.stderr).toBe(1);
    expect(result.stdout).toMatch(/^✗ database\s+unreachable: .*ECONNREFUSED/m);
    expect(result.stdout).toMatch(/^- migrations\s+skipped/m);
    expect(result.ms).toBeLessThan(8000);
    expect(hasStack(result.stdout + result.stderr)).toBe(false);
  });

  it('gives up after --timeout on a database and a Redis that accept connections but never answer', async () => {
    const sockets = new Set<Socket>();
    const silent = createServer((socket) => void sockets.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as AddressInfo;
    try {
      const result = await plinthInProcess(['doctor', '--timeout', '1000', '--database-url', `postgres://postgres@127.0.0.1:${port}/x`, '--redis-url', `redis://127.0.0.1:${port}`]);
      expect(result.code, result.stdout + result.stderr).toBe(1);
      expect(result.stdout).toMatch(/^✗ database\s+unreachable: the database did not answer within 1000 ms$/m);
      expect(result.stdout).toMatch(/^✗ redis\s+unreachable: Redis did not answer within 1000 ms$/m);
      expect(result.ms).toBeLessThan(6000);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  it('reports a missing SQLite file as a problem and does not create it', async () => {
    const db = await createTestDatabase('sqlite');
    try {
      const file = db.url.slice('sqlite:'.length);
      const result = await plinthInProcess(['doctor', '--json', '--database-url', db.url]);
      expect(result.code, result.stdout + result.stderr).toBe(1);
      const report = JSON.parse(result.stdout) as DoctorJson;
      expect(report.ok).toBe(false);
      expect(check(report, 'database')).toEqual({ name: 'database', status: 'fail', message: `database file does not exist: ${file}` });
      expect(existsSync(file)).toBe(false);
    } finally {
      await db.drop();
    }
  });

  it('reports an invalid configuration as a problem naming the key', async () => {
    const result = await plinthInProcess(['doctor'], { env: { PLINTH_PORT: 'abc' } });
    expect(result.code, result.stdout + result.stderr).toBe(1);
    expect(result.stdout).toMatch(/^✗ config\s+Invalid Plinth configuration: http\.port \(PLINTH_PORT\)/m);
    expect(hasStack(result.stdout + result.stderr)).toBe(false);
  });
});
