import { Counter, Gauge, type Registry } from 'prom-client';
import type { Clock } from '../clock.js';
import { type CircuitBreaker, type CircuitBreakerOptions, type CircuitState, createCircuitBreaker } from './circuit-breaker.js';

/** Gauge values of `plinth_circuit_state`. */
export const circuitStateValue: Record<CircuitState, number> = { closed: 0, half_open: 1, open: 2 };

/**
 * The circuit breakers of a Plinth instance (`kernel.breakers`), one per destination,
 * made on first use. Their state is the gauge `plinth_circuit_state{destination}`
 * (0 closed, 1 half-open, 2 open) on the instance's metrics registry.
 */
export interface CircuitBreakers {
  /** The breaker of `destination` (e.g. `smtp:mail.example.com`, `webhook:<endpoint id>`); `options` apply when it is made. */
  get(destination: string, options?: CircuitBreakerOptions): CircuitBreaker;
  /** Every breaker made so far. */
  list(): CircuitBreaker[];
}

export function createCircuitBreakers(deps: { registry?: Registry; clock?: Clock; defaults?: CircuitBreakerOptions }): CircuitBreakers {
  const breakers = new Map<string, CircuitBreaker>();
  const gauge = deps.registry
    ? new Gauge({
        name: 'plinth_circuit_state',
        help: 'State of the circuit breaker of each outbound destination: 0 closed, 1 half-open, 2 open.',
        labelNames: ['destination'],
        registers: [deps.registry],
        collect() {
          // An open breaker becomes half-open by time alone: read it at scrape time.
          for (const breaker of breakers.values()) this.set({ destination: breaker.destination }, circuitStateValue[breaker.state]);
        },
      })
    : undefined;
  const transitions = deps.registry
    ? new Counter({
        name: 'plinth_circuit_transitions_total',
        help: 'Circuit breaker state changes by destination and new state.',
        labelNames: ['destination', 'state'],
        registers: [deps.registry],
      })
    : undefined;
  return {
    get(destination, options) {
      let breaker = breakers.get(destination);
      if (!breaker) {
        breaker = createCircuitBreaker(destination, { ...deps.defaults, ...options }, {
          ...(deps.clock ? { clock: deps.clock } : {}),
          onState: (state) => {
            gauge?.set({ destination }, circuitStateValue[state]);
            transitions?.inc({ destination, state });
          },
        });
        breakers.set(destination, breaker);
        gauge?.set({ destination }, 0);
      }
      return breaker;
    },
    list: () => [...breakers.values()],
  };
}
