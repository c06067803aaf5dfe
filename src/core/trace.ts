import { findCookie } from '../codec/cookie-header';
import { clock, publishCommit, publishLoad, publishRefused, type CookieRefusedReason, type SessionCommitMessage } from '../diagnostics';
import type { MaybePromise } from '../stores/types';
import { DESTROYED, FRESH, MODIFIED, REGENERATED, type Phase } from './lifecycle';
import type { Prepared } from './manager';
import { stateOf, type Session } from './session';

/**
 * The manager's diagnostics (src/diagnostics.ts), kept off its fast path:
 * the manager calls these only when a channel has subscribers.
 */

function isPromise<T>(v: MaybePromise<T>): v is Promise<T> {
  return typeof (v as Promise<T> | null)?.then === 'function';
}

/** Publishes `session:load` once `loaded` is a session; returns it unchanged. */
export function traceLoad<S extends Session<any>>(name: string, loaded: MaybePromise<S>, t0: number): MaybePromise<S> {
  if (!isPromise(loaded)) {
    publishLoad(name, stateOf(loaded).phase === FRESH, t0);
    return loaded;
  }
  return loaded.then((s) => {
    publishLoad(name, stateOf(s).phase === FRESH, t0);
    return s;
  });
}

function changeOf(phase: Phase): SessionCommitMessage['change'] {
  if (phase === MODIFIED) return 'modified';
  if (phase === DESTROYED) return 'destroyed';
  if (phase === REGENERATED) return 'regenerated';
  return 'none';
}

/** Runs `prepare` and publishes `session:commit` when its write settled (or it threw). */
export function traceCommit(name: string, phase: Phase, prepare: () => Prepared): Prepared {
  const change = changeOf(phase);
  const t0 = clock();
  let p: Prepared;
  try {
    p = prepare();
  } catch (err) {
    publishCommit(name, change, 0, t0, err as Error);
    throw err;
  }
  const cookies = p.headers.length;
  if (!isPromise(p.write)) {
    publishCommit(name, change, cookies, t0, undefined);
    return p;
  }
  const write = p.write.then(
    () => publishCommit(name, change, cookies, t0, undefined),
    (err: Error) => {
      publishCommit(name, change, cookies, t0, err);
      throw err;
    },
  );
  return { headers: p.headers, write };
}

/**
 * A signed cookie that gave no id: refused only when our cookie is there at
 * all (no cookie is a new visitor, not a refusal).
 */
export function refusedIfPresent(name: string, header: string, cookieName: string, reason: CookieRefusedReason): void {
  if (findCookie(header, cookieName) !== undefined) publishRefused(name, reason);
}

/** @see CookieRefusedReason */
export function refused(name: string, reason: CookieRefusedReason): void {
  publishRefused(name, reason);
}
