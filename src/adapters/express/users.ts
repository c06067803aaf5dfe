import { randomBytes } from 'node:crypto';
import { SessionManager } from '../../core/manager';
import { nameTag } from '../../codec/record';
import { asBinding, checkUserId, cleanMeta, USER_KEY, UserSessions, type Binding, type UsersOptions } from '../../core/users';
import { codes, HotsessionError } from '../../errors';
import type { HotsessionExpressStore } from './bridge';
import type { RequestSession, SessionRequest } from './session';

/*
 * Users' sessions (issue #17) under hotsession/express, on a hotsession
 * store with a per-user index: the core's UserSessions does the index work
 * (the entry format, refresh, bounds, listing, revocation) and a core
 * SessionManager over the same store and name serves the account API, so
 * there is one implementation of all of it. What is Express-specific is
 * only the request side: login() goes through the session's own
 * regenerate() (keeping its data) and save(), the binding lives in `req.session` under
 * USER_KEY (stored as a top-level key like every other, which is where the
 * core reads it from), and the end of a logged-in request refreshes its
 * entry once per seenInterval.
 */

/** A session's data, keyed by any name (USER_KEY is none of the app's typed keys). */
function dataOf(session: object): Record<string, unknown> {
  return session as Record<string, unknown>;
}

function promised(run: (cb: (err?: unknown) => void) => unknown): Promise<void> {
  return new Promise((resolve, reject) => {
    run((err) => (err ? reject(err) : resolve()));
  });
}

/** The users' side of one hotsession/express middleware (its `login`, `manager`, refreshes). */
export class ExpressUsers {
  /** The account API: sessionsOf, revokeSession, revokeUser over the middleware's store and name. */
  readonly manager: SessionManager;
  readonly #bridge: HotsessionExpressStore;
  readonly #users: UserSessions | null;

  constructor(bridge: HotsessionExpressStore, name: string, options: UsersOptions | undefined) {
    this.#bridge = bridge;
    const store = bridge.store;
    // The manager only lists and revokes (the middleware signs the cookies):
    // its secret is never used, and none of the app's is handed to it.
    this.manager = new SessionManager(name, store, { secret: randomBytes(32).toString('hex'), users: options });
    this.#users = store.users === undefined ? null : new UserSessions(store, store.users, nameTag(name), undefined, options);
  }

  /**
   * Logs `req.session` in as `userId` (see hotsession/express `login`):
   * regenerate, bind, save, index, then the per-user bound.
   */
  async login(req: SessionRequest, userId: string, meta: unknown): Promise<void> {
    checkUserId(userId);
    const m = cleanMeta(meta);
    const users = this.#users;
    if (users === null) throw new HotsessionError(codes.USERS_UNSUPPORTED, 'login() needs a store with a per-user index (store.users)');
    if (!req.session) throw new TypeError('login(req): req.session is missing (is the session middleware mounted on this route?)');
    const data = dataOf(req.session);
    const before = asBinding(data[USER_KEY]);
    const wasId = req.sessionID as string;
    // A new id (fixation defence) that keeps the session's data, as the
    // core's login does (and passport's req.login, which may have just run:
    // its user must not be lost to this second regenerate).
    const kept: Array<[string, unknown]> = [];
    for (const k of Object.keys(data)) if (k !== 'cookie' && k !== USER_KEY) kept.push([k, data[k]]);
    await promised((cb) => req.session!.regenerate(cb));
    const session = req.session!;
    for (const [k, v] of kept) dataOf(session)[k] = v;
    const now = Date.now();
    const b: Binding = { u: userId, h: UserSessions.newHandle(), c: now, m };
    dataOf(session)[USER_KEY] = b;
    const sid = req.sessionID as string;
    try {
      await promised((cb) => session.save(cb));
      const size = await users.put(b, sid, this.#bridge.lifetime(session, Date.now()), Date.now());
      if (before !== null) await users.unbind(before, wasId);
      await users.bound(userId, b.h, size, Date.now());
    } catch (err) {
      // A session bound to a user must be listed under it (or it could not be revoked).
      delete dataOf(session)[USER_KEY];
      await this.#bridge.store.destroy(sid);
      throw err;
    }
  }

  /**
   * End of a request of `session` (stored under `sid`): a logged-in one
   * refreshes its entry once per seenInterval. Not awaited by the response:
   * a failed refresh is retried at the session's next request.
   */
  seen(sid: string, session: Record<string, unknown>): void {
    const users = this.#users;
    const v = session[USER_KEY];
    if (users === null || v === undefined) return;
    const now = Date.now();
    const ttl = this.#bridge.lifetime(session, now);
    if (!users.due(sid, now, ttl)) return;
    const b = asBinding(v);
    if (b === null) return;
    try {
      const w = users.refreshBound(b, sid, ttl, now);
      if (w instanceof Promise) w.catch(() => undefined);
    } catch {
      // Retried at the next request (refreshBound forgot this one).
    }
  }

  /** After `session` (stored under `sid`) was destroyed: its entry leaves its user's index. */
  unbind(sid: string, session: Record<string, unknown>): void {
    const b = this.#users === null ? null : asBinding(session[USER_KEY]);
    if (b === null) return;
    try {
      const w = this.#users!.unbind(b, sid);
      // Not awaited: a left-over entry names a dead session, which listing prunes.
      if (w instanceof Promise) w.catch(() => undefined);
    } catch {
      // As above.
    }
  }
}

/**
 * Logs `req.session` in as `userId`, next to (after) or instead of
 * passport's `req.login`: a new session id that keeps the session's data,
 * bound to the user with opt-in `meta`
 * (a plain object of at most 1 KiB as JSON, say `{ userAgent }`), saved and
 * listed under the user. Needs a hotsession store with a per-user index
 * (MemoryStore, SharedMemoryStore, RedisStore, MemcachedStore, MongoStore of
 * `hotsession`): else rejects with HOTSESSION_ERR_USERS_UNSUPPORTED. The
 * account API is the middleware's `manager` (`sessionsOf`, `revokeSession`,
 * `revokeUser`).
 */
export function login(req: UsersRequest, userId: string, meta?: Record<string, unknown>): Promise<void> {
  const accounts = (req.sessionStore as { accounts?: ExpressUsers | null } | undefined)?.accounts;
  if (accounts == null) {
    return Promise.reject(new HotsessionError(codes.USERS_UNSUPPORTED, 'login(req) needs hotsession/express with a hotsession store (a per-user index) on this request'));
  }
  return accounts.login(req as SessionRequest, userId, meta);
}

/** What `login` and `userOf` read of a request (an Express `Request` under the middleware is one). */
export interface UsersRequest {
  readonly session?: RequestSession | null | undefined;
  readonly sessionStore?: unknown;
}

/** `{ userId, handle }` of a logged-in `req.session` (compare `handle` with `sessionsOf`'s), else null. */
export function userOf(req: UsersRequest): { userId: string; handle: string } | null {
  const b = req.session ? asBinding(dataOf(req.session)[USER_KEY]) : null;
  return b === null ? null : { userId: b.u, handle: b.h };
}
