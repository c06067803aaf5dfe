import { FREQ_MAX } from './slots';

/*
 * The eviction policy of the shared table: S3-FIFO (Yang et al., SOSP 2023)
 * over two logs of segments, so that sessions that came back outlive one-shot
 * ones without any list to maintain under a lock.
 *
 * - A new session (set of an id the table does not hold) is written to the
 *   small log.
 * - A read raises the session's 2-bit frequency (in its slot word, saturating).
 * - A session written because it came back (patch, touch, forward, or a set
 *   of an id it holds) goes to the main log: only a request that loaded it
 *   writes it again.
 * - Both logs share one pool of segments: while there is a free segment,
 *   either takes it; then the small log gives back its oldest segment as
 *   long as it holds a tenth of the pool, and the main log its oldest
 *   otherwise (pool.ts).
 * - When the small log's oldest segment is reclaimed, a session read since it
 *   was written moves to the main log; the rest (one-shot sessions) are evicted.
 * - When the main log's oldest segment is reclaimed, a session with freq > 0
 *   is rewritten at the main log's head with freq - 1; the rest are evicted.
 *
 * A flood of cookieless one-shot sessions therefore only ever cycles the small
 * log once the table is full: the main log, where returning sessions live,
 * gives nothing back to it.
 * Expired sessions are dropped wherever they are met.
 */

export const KEEP_EVICT = 0;
export const KEEP_PROMOTE = 1;
export const KEEP_REINSERT = 2;
export const KEEP_EXPIRE = 3;

/** What a reclaim does with a live block of `log` (0 small, 1 main). */
export function onReclaim(log: number, freq: number, expired: boolean): number {
  if (expired) return KEEP_EXPIRE;
  if (freq === 0) return KEEP_EVICT;
  return log === 0 ? KEEP_PROMOTE : KEEP_REINSERT;
}

/** The frequency a kept block carries into its new place. */
export function keptFreq(action: number, freq: number): number {
  return action === KEEP_REINSERT ? freq - 1 : 0;
}

/** The frequency after one more read. */
export function bumped(freq: number): number {
  return freq < FREQ_MAX ? freq + 1 : freq;
}

/**
 * Rank of a slot as a victim when a new session finds its bucket full (lower
 * is evicted first): expired, then small-log sessions never read again, then
 * by log and frequency; the older position breaks ties.
 */
export function victimRank(expired: boolean, log: number, freq: number): number {
  if (expired) return 0;
  return 1 + log * (FREQ_MAX + 1) + freq;
}
