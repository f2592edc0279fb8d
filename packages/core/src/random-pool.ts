import { randomBytes } from 'node:crypto';

const BLOCK = 4096;
let block = Buffer.alloc(0);
let offset = 0;

/**
 * `size` random bytes from the CSPRNG, cut from a block drawn 4 KiB at a time (as Node does for
 * `randomUUID`): a `randomBytes` call costs ~5 µs of CPU whatever its size, and hot paths need a
 * few bytes each (an AES-GCM IV, an idempotency lease). Every byte is handed out once. The answer
 * is a view on the block: read it, copy it, do not keep writing to it.
 */
export function pooledRandomBytes(size: number): Buffer {
  if (size > BLOCK / 8) return randomBytes(size);
  if (offset + size > block.length) {
    block = randomBytes(BLOCK);
    offset = 0;
  }
  return block.subarray(offset, (offset += size));
}

/** A random 32-bit unsigned integer from the same pooled bytes. */
export function pooledRandomUint32(): number {
  if (offset + 4 > block.length) {
    block = randomBytes(BLOCK);
    offset = 0;
  }
  const value = block.readUInt32LE(offset);
  offset += 4;
  return value;
}
