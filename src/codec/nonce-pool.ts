import { randomFillSync } from 'node:crypto';

/**
 * Random bytes for the JS sealer's AES-GCM nonces, drawn from one buffer
 * that `randomFillSync` refills when used up: one call per 4 KiB instead of
 * one per seal. A call for 12 bytes was a fifth of the CPU profile of the
 * in-process "cookie (js)" row, nearly as much as the AES-GCM work beside
 * it; with this pool bench/layer-count.mjs row "cookie js" went from 109,639
 * to 97,365 instructions per request. Every byte comes from the CSPRNG and
 * is handed out once, so a nonce is as random as one filled on its own
 * (nonces are public: each is written in the clear in its envelope).
 */
const POOL_BYTES = 4096;
const pool = Buffer.allocUnsafe(POOL_BYTES);
let next = POOL_BYTES;

/** Fills `target` (at most POOL_BYTES long) with fresh random bytes. */
export function fillNonce(target: Uint8Array): void {
  const n = target.length;
  if (next + n > POOL_BYTES) {
    randomFillSync(pool);
    next = 0;
  }
  pool.copy(target, 0, next, next + n);
  next += n;
}
