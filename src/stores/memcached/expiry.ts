/**
 * Memcached expiry arithmetic.
 *
 * memcached reads an item's expiration as seconds: up to 30 days it is
 * relative to now, above that it is an absolute unix time (protocol.txt,
 * "Expiration times"). A relative TTL of 31 days would therefore be read as
 * a date in January 1970 and the item would expire at once.
 */

/** The largest relative expiration memcached accepts, in seconds (30 days). */
export const MAX_RELATIVE_SECONDS = 60 * 60 * 24 * 30;

/**
 * The expiration field for a record that must live `ttlMs` from `nowMs`.
 * Rounded up to whole seconds: memcached has no finer unit, and 0 would mean
 * "never expire". memcached's clock advances once a second, so a record with
 * `s` seconds ends between s - 1 and s seconds later: rounding up keeps it
 * from outliving its deadline by more than the rounding, and a frame's own
 * expiry (checked on every read) is exact.
 */
export function memcachedExpiry(ttlMs: number, nowMs: number): number {
  const seconds = Math.max(1, Math.ceil(ttlMs / 1000));
  if (seconds <= MAX_RELATIVE_SECONDS) return seconds;
  // Absolute: the unix second at which the record ends, rounded up as well.
  // The field is an unsigned 32-bit number, which holds unix times until 2106.
  return Math.min(0xffff_ffff, Math.ceil((nowMs + ttlMs) / 1000));
}
