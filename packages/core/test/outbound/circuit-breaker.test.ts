/**
 * The circuit breaker on its own (closed → open → half-open → closed, timeouts), the
 * registry's `plinth_circuit_state` gauge, the SSRF address checks, and a job whose
 * destination's breaker is open: deferred through the queue, not retried in a loop.
 */
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  CircuitOpenError, createCircuitBreaker, createCircuitBreakers, createManualClock, createWorker, defineModule, isPrivateAddress, OutboundTimeoutError,
} from '../../src/index.js';
import { assertPublicUrl } from '../../src/outbound/index.js';
import { useHarness } from '../support/harness.js';

const fail = () => Promise.reject(new Error('boom'));
const ok = () => Promise.resolve('ok');

describe('circuit breaker', () => {
  it('opens after N consecutive failures and refuses calls without making them', async () => {
    const clock = createManualClock();
    const breaker = createCircuitBreaker('smtp:test', { failureThreshold: 3, openMs: 10_000 }, { clock });
    for (let i = 0; i < 2; i++) await expect(breaker.call(fail)).rejects.toThrow('boom');
    expect(breaker.state).toBe('closed');
    await expect(breaker.call(fail)).rejects.toThrow('boom');
    expect(breaker.state).toBe('open');
    let called = false;
    const refused = await breaker.call(async () => { called = true; }).catch((e: unknown) => e);
    expect(called).toBe(false);
    expect(refused).toBeInstanceOf(CircuitOpenError);
    expect((refused as CircuitOpenError).code).toBe('outbound.circuit_open');
    expect((refused as CircuitOpenError).retryAfterMs).toBe(10_000);
    clock.advance(4000);
    expect(breaker.retryInMs()).toBe(6000);
  });

  it('a success in between resets the consecutive count', async () => {
    const breaker = createCircuitBreaker('x', { failureThreshold: 3, minimumCalls: 100 });
    for (let i = 0; i < 5; i++) {
      await expect(breaker.call(fail)).rejects.toThrow();
      await expect(breaker.call(fail)).rejects.toThrow();
      await expect(breaker.call(ok)).resolves.toBe('ok');
    }
    expect(breaker.state).toBe('closed');
  });

  it('opens on the failure rate of the window once it holds enough calls', async () => {
    const breaker = createCircuitBreaker('x', { failureThreshold: 100, failureRate: 0.5, minimumCalls: 6, windowSize: 10 });
    for (let i = 0; i < 5; i++) {
      if (i % 2) await expect(breaker.call(fail)).rejects.toThrow();
      else await breaker.call(ok);
    }
    expect(breaker.state).toBe('closed'); // 2 of 5, window not full enough
    await expect(breaker.call(fail)).rejects.toThrow(); // 3 of 6
    expect(breaker.state).toBe('open');
  });

  it('after openMs one half-open probe goes through: success closes, failure opens again', async () => {
    const clock = createManualClock();
    const breaker = createCircuitBreaker('x', { failureThreshold: 1, openMs: 1000 }, { clock });
    await expect(breaker.call(fail)).rejects.toThrow();
    clock.advance(1000);
    expect(breaker.state).toBe('half_open');
    await expect(breaker.call(fail)).rejects.toThrow('boom');
    expect(breaker.state).toBe('open');
    clock.advance(1000);
    // While the probe runs, other calls are refused.
    let release!: () => void;
    const probe = breaker.call(() => new Promise<string>((resolve) => { release = () => resolve('probed'); }));
    await expect(breaker.call(ok)).rejects.toBeInstanceOf(CircuitOpenError);
    release();
    await expect(probe).resolves.toBe('probed');
    expect(breaker.state).toBe('closed');
    await expect(breaker.call(ok)).resolves.toBe('ok');
  });

  it('every call has a timeout: the callee is aborted and the call fails as a failure', async () => {
    const breaker = createCircuitBreaker('slow', { failureThreshold: 2, timeoutMs: 50 });
    let aborted = false;
    const started = performance.now();
    const error = await breaker
      .call((signal) => new Promise((resolve) => {
        signal.addEventListener('abort', () => { aborted = true; });
        setTimeout(resolve, 5000).unref();
      }))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OutboundTimeoutError);
    expect(aborted).toBe(true);
    expect(performance.now() - started).toBeLessThan(2000);
    // A callee that ignores the signal does not hold the caller either.
    await expect(breaker.call(() => new Promise((resolve) => setTimeout(resolve, 5000).unref()), { timeoutMs: 30 })).rejects.toBeInstanceOf(OutboundTimeoutError);
    expect(breaker.state).toBe('open');
  });

  it('neutral errors and the caller aborting do not count against the destination', async () => {
    const breaker = createCircuitBreaker('x', { failureThreshold: 1, isNeutral: (e) => (e as Error).message === 'rejected recipient' });
    await expect(breaker.call(() => Promise.reject(new Error('rejected recipient')))).rejects.toThrow();
    const controller = new AbortController();
    const call = breaker.call((signal) => new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason))), { signal: controller.signal });
    controller.abort(new Error('stopping'));
    await expect(call).rejects.toThrow('stopping');
    expect(breaker.state).toBe('closed');
  });

  it('rejects nonsense options', () => {
    expect(() => createCircuitBreaker('x', { failureThreshold: 0 })).toThrow(/failureThreshold/);
    expect(() => createCircuitBreaker('x', { failureRate: 1.5 })).toThrow(/failureRate/);
    expect(() => createCircuitBreaker('x', { timeoutMs: -1 })).toThrow(/timeoutMs/);
  });
});

describe('circuit breakers registry', () => {
  it('shows each destination state in plinth_circuit_state', async () => {
    const registry = new Registry();
    const clock = createManualClock();
    const breakers = createCircuitBreakers({ registry, clock, defaults: { failureThreshold: 1, openMs: 1000 } });
    expect(breakers.get('smtp:a')).toBe(breakers.get('smtp:a'));
    await breakers.get('smtp:a').call(ok);
    await expect(breakers.get('webhook:b').call(fail)).rejects.toThrow();
    const text = async () => registry.metrics();
    expect(await text()).toContain('plinth_circuit_state{destination="smtp:a"} 0');
    expect(await text()).toContain('plinth_circuit_state{destination="webhook:b"} 2');
    clock.advance(1000);
    expect(await text()).toContain('plinth_circuit_state{destination="webhook:b"} 1');
    await breakers.get('webhook:b').call(ok);
    expect(await text()).toContain('plinth_circuit_state{destination="webhook:b"} 0');
    expect(await text()).toMatch(/plinth_circuit_transitions_total\{destination="webhook:b",state="open"\} 1/);
  });
});

describe('private addresses (SSRF)', () => {
  it.each([
    ['127.0.0.1', true], ['10.1.2.3', true], ['172.20.0.1', true], ['192.168.1.1', true], ['169.254.169.254', true], ['100.64.0.1', true],
    ['0.0.0.0', true], ['::1', true], ['fe80::1', true], ['fd12:3456::1', true], ['::ffff:127.0.0.1', true], ['::ffff:10.0.0.1', true],
    ['not-an-ip', true], ['93.184.216.34', false], ['8.8.8.8', false], ['2606:4700::1111', false], ['::ffff:8.8.8.8', false],
  ])('%s private: %s', (address, expected) => {
    expect(isPrivateAddress(address)).toBe(expected);
  });

  it('refuses loopback targets and odd URLs unless private targets are allowed', async () => {
    await expect(assertPublicUrl('http://127.0.0.1:8080/hook', false)).rejects.toMatchObject({ code: 'webhooks.url_not_allowed', status: 422 });
    await expect(assertPublicUrl('http://localhost/hook', false)).rejects.toMatchObject({ code: 'webhooks.url_not_allowed' });
    await expect(assertPublicUrl('http://[::1]/hook', false)).rejects.toMatchObject({ code: 'webhooks.url_not_allowed' });
    await expect(assertPublicUrl('ftp://example.com/x', true)).rejects.toMatchObject({ code: 'webhooks.url_not_allowed' });
    await expect(assertPublicUrl('https://user:pw@example.com/x', true)).rejects.toMatchObject({ code: 'webhooks.url_not_allowed' });
    await expect(assertPublicUrl('http://127.0.0.1:8080/hook', true)).resolves.toBeInstanceOf(URL);
  });
});

describe('jobs and open circuits', () => {
  const h = useHarness();

  it('a job whose destination is open is put back with the delay, its attempt refunded', async () => {
    const db = await h.database('sqlite');
    const calls: number[] = [];
    const mod = defineModule({
      name: 'sender',
      jobs: {
        'sender.send': {
          payload: z.object({ n: z.number() }),
          maxAttempts: 2,
          backoff: { baseMs: 20, maxMs: 20 },
          async handler({ kernel }) {
            calls.push(Date.now());
            await kernel.breakers.get('test:dest', { failureThreshold: 1, openMs: 60_000 }).call(fail);
          },
        },
      },
    });
    const plinth = h.plinth(db.url, { modules: [mod], jobs: { pollIntervalMs: 20 } });
    await plinth.start();
    const job = await plinth.jobs.enqueue('sender.send', { n: 1 });
    const worker = createWorker(plinth, { concurrency: 1 });
    await worker.start();
    h.defer(() => worker.stop());
    // First run fails for real (a retry with backoff); the next finds the circuit open and is deferred.
    await expect.poll(async () => (await plinth.jobs.get(job.id))?.lastError ?? '', { timeout: 15_000 }).toMatch(/circuit to test:dest is open/);
    const row = (await plinth.jobs.get(job.id))!;
    expect(row.state).toBe('queued');
    expect(row.attempts).toBe(1); // the deferred run did not spend the second attempt
    expect(Date.parse(row.runAt) - Date.now()).toBeGreaterThan(50_000);
    expect(calls.length).toBe(2);
    expect(await plinth.metrics.metrics()).toContain('plinth_circuit_state{destination="test:dest"} 2');
  }, 30_000);
});
