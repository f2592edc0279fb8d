import { V7Generator } from 'uuidv7';
import type { Clock } from './clock.js';
import { pooledRandomUint32 } from './random-pool.js';

/** Produces time-ordered ids (UUIDv7): sortable, good index locality, stable cursors. */
export interface IdGenerator {
  next(): string;
}

/**
 * UUIDv7 ids stamped from the given clock. Ids from one generator are strictly
 * increasing even within one millisecond or when the clock steps back a little.
 */
export function createIdGenerator(clock: Clock): IdGenerator {
  // Random words from the pooled CSPRNG bytes (the library's default asks the OS for 8 words at a time).
  const generator = new V7Generator({ nextUint32: pooledRandomUint32 });
  return {
    // A 10 s rollback allowance keeps ids monotonic across small clock corrections.
    next: () => generator.generateOrResetCore(clock.now(), 10_000).toString(),
  };
}
