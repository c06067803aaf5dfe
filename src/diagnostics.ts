/**
 * hotsession's diagnostics channels (`node:diagnostics_channel`), in the
 * style of undici's: named channels, messages published only while a channel
 * has subscribers, so an application that subscribes to nothing pays one
 * property read per event site and allocates nothing.
 *
 * ```js
 * const dc = require('node:diagnostics_channel');
 * dc.subscribe('hotsession:store:batch', (m) => histogram.record(m.ms));
 * ```
 *
 * | channel | message |
 * |---|---|
 * | `hotsession:session:load` | {@link SessionLoadMessage} |
 * | `hotsession:session:commit` | {@link SessionCommitMessage} |
 * | `hotsession:cookie:refused` | {@link CookieRefusedMessage} |
 * | `hotsession:store:batch` | {@link StoreBatchMessage} |
 * | `hotsession:store:error` | {@link StoreFailureMessage} |
 * | `hotsession:store:queue-full` | {@link StoreFailureMessage} |
 * | `hotsession:store:timeout` | {@link StoreFailureMessage} |
 *
 * Messages never carry a session id or a cookie value (they are credentials).
 * Every other module publishes through the functions below, one line each.
 * @module
 */
import dc from 'node:diagnostics_channel';
import { performance } from 'node:perf_hooks';
import { codes } from './errors';

/** A session was loaded (published once the session exists, after the store answered). */
export interface SessionLoadMessage {
  /** The session (cookie) name. */
  name: string;
  /** No live session was found: the handler gets a new, empty one. */
  fresh: boolean;
  /** Milliseconds the load took (store round trip included). */
  ms: number;
}

/** A session was committed (published once the store acknowledged, or failed). */
export interface SessionCommitMessage {
  name: string;
  /**
   * What the request did to the session: `none` (read only; under `rolling`
   * the commit may still touch it), `modified`, `destroyed` or `regenerated`.
   */
  change: 'none' | 'modified' | 'destroyed' | 'regenerated';
  /** Set-Cookie values the commit produced. */
  cookies: number;
  /** Milliseconds from the commit to the store's answer (0 when nothing was awaited). */
  ms: number;
  /** Why the commit failed; undefined when it succeeded. */
  error: Error | undefined;
}

/**
 * Why a request's cookie gave no session:
 * - `signature`: our cookie is present but no secret verifies it (forged, truncated, an old secret dropped);
 * - `id`: the signature holds but the id has not the shape of our ids;
 * - `unknown`: the store has no record under the id (expired, destroyed, never stored);
 * - `record`: the store's record is no live session for this name (expired, regenerated away, written for another name, malformed);
 * - `unsealed`: a cookie store's cookie(s) present but not opened (forged, truncated, expired seal, unknown key);
 * - `expired`: past `absoluteTimeout`.
 */
export type CookieRefusedReason = 'signature' | 'id' | 'unknown' | 'record' | 'unsealed' | 'expired';

/** A request's cookie was refused: it gets a fresh session. */
export interface CookieRefusedMessage {
  name: string;
  reason: CookieRefusedReason;
}

/** What a store batch carried. */
export type BatchKind = 'read' | 'write';

/** One backend round trip of a batching store finished (successfully). */
export interface StoreBatchMessage {
  /** The store's kind: `redis`, `memcached` or `mongo`. */
  store: string;
  kind: BatchKind;
  /** Operations (ids for a read) in the batch. */
  size: number;
  /** Milliseconds from sending the batch to its answer. */
  ms: number;
}

/**
 * A store operation failed: on `store:error` the backend failed, on
 * `store:queue-full` it was refused at `maxPending`, on `store:timeout` a
 * batch (or a request's whole budget, `kind: 'request'`) ran out of time.
 */
export interface StoreFailureMessage {
  /** The store's kind (`redis`, `memcached`, `mongo`); for `kind: 'request'` the session's name. */
  store: string;
  kind: BatchKind | 'request';
  /** Operations affected. */
  size: number;
  error: Error;
}

const load = dc.channel('hotsession:session:load');
const commit = dc.channel('hotsession:session:commit');
const refused = dc.channel('hotsession:cookie:refused');
const batch = dc.channel('hotsession:store:batch');
const error = dc.channel('hotsession:store:error');
const queueFull = dc.channel('hotsession:store:queue-full');
const timeout = dc.channel('hotsession:store:timeout');

/** The documented channel names. */
export const channelNames = {
  sessionLoad: load.name as string,
  sessionCommit: commit.name as string,
  cookieRefused: refused.name as string,
  storeBatch: batch.name as string,
  storeError: error.name as string,
  storeQueueFull: queueFull.name as string,
  storeTimeout: timeout.name as string,
} as const;

/** @internal A start time for a load, or 0 when nobody listens (no clock read). */
export function loadClock(): number {
  return load.hasSubscribers ? performance.now() : 0;
}

/** @internal */
export function publishLoad(name: string, fresh: boolean, t0: number): void {
  if (t0 !== 0 && load.hasSubscribers) load.publish({ name, fresh, ms: performance.now() - t0 } satisfies SessionLoadMessage);
}

/** @internal True while `session:commit` has subscribers. */
export function tracingCommits(): boolean {
  return commit.hasSubscribers;
}

/** @internal */
export function publishCommit(name: string, change: SessionCommitMessage['change'], cookies: number, t0: number, err: Error | undefined): void {
  if (commit.hasSubscribers) commit.publish({ name, change, cookies, ms: performance.now() - t0, error: err } satisfies SessionCommitMessage);
}

/** @internal performance.now(), for the tracing paths only. */
export function clock(): number {
  return performance.now();
}

/** @internal True while `cookie:refused` has subscribers (a refusal's reason is worked out only then). */
export function tracingRefusals(): boolean {
  return refused.hasSubscribers;
}

/** @internal */
export function publishRefused(name: string, reason: CookieRefusedReason): void {
  if (refused.hasSubscribers) refused.publish({ name, reason } satisfies CookieRefusedMessage);
}

/** @internal A start time for a batch, or 0 when nobody listens. */
export function batchClock(): number {
  return batch.hasSubscribers ? performance.now() : 0;
}

/** @internal */
export function publishBatch(store: string, kind: BatchKind, size: number, t0: number): void {
  if (t0 !== 0 && batch.hasSubscribers) batch.publish({ store, kind, size, ms: performance.now() - t0 } satisfies StoreBatchMessage);
}

/** @internal Publishes a failure on the channel its code belongs to. */
export function publishFailure(store: string, kind: StoreFailureMessage['kind'], size: number, err: Error): void {
  const code = (err as { code?: unknown }).code;
  const ch = code === codes.STORE_TIMEOUT ? timeout : code === codes.QUEUE_FULL ? queueFull : error;
  if (ch.hasSubscribers) ch.publish({ store, kind, size, error: err } satisfies StoreFailureMessage);
}
