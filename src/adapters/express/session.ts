import { Cookie } from './cookie';
import type { Loaded } from './per-key';
import { kCreated, kId, kLoaded, kReq, kTrack } from './symbols';
import type { ExpressUsers } from './users';

/**
 * The session data of an app, augmentable like express-session's:
 *
 *     declare module 'hotsession/express' {
 *       interface SessionData { user: string; views: number }
 *     }
 *
 * `req.session` is then typed `Session & Partial<SessionData>`, so a
 * misspelled key is a compile error.
 */
// eslint-disable-next-line @typescript-eslint/no-empty-interface
export interface SessionData {}

/**
 * What `req.session.cookie` offers, in the shape express-session's Cookie
 * has too (so both libraries' types can describe one request).
 */
export interface SessionCookie {
  originalMaxAge: number | null | undefined;
  maxAge?: number | null | undefined;
  expires?: Date | null | undefined;
  secure?: boolean | 'auto' | undefined;
  httpOnly?: boolean | undefined;
  path?: string | undefined;
  domain?: string | undefined;
  sameSite?: boolean | string | undefined;
  partitioned?: boolean | undefined;
  priority?: string | undefined;
}

/**
 * `req.session` as Express's `Request` declares it: the methods and fields
 * every express-session-style session has. Written structurally so that
 * express-session's own `Session` type (from `@types/express-session`, when
 * an app has it) satisfies it too.
 */
export interface RequestSession {
  readonly id: string;
  cookie: SessionCookie;
  regenerate(callback: (err: any) => void): this;
  destroy(callback?: (err: any) => void): this;
  reload(callback: (err: any) => void): this;
  save(callback?: (err: any) => void): this;
  touch(): this;
  resetMaxAge(): this;
}

/** The parts of a request a session uses (an Express or node:http request). */
export interface SessionRequest {
  sessionID?: unknown;
  session?: (Session & Partial<SessionData>) | null;
  sessionStore?: any;
  [key: string]: any;
}

type Callback = (err?: any) => void;

/** What the middleware learns from a session it watches (its explicit saves). */
export interface Tracker {
  saved(session: Session): void;
  /** What is left of the request's store-time budget (ms; Infinity: none), see core/budget.ts. */
  budgetLeft: number;
}

/**
 * `req.session`: the session data as plain properties (`req.session.views = 1`)
 * plus `cookie`; `id` and the methods are not enumerable, so
 * `Object.keys(req.session)` and `JSON.stringify(req.session)` show data only.
 * Methods talk to `req.sessionStore` with callbacks, like express-session's.
 */
export class Session implements RequestSession {
  declare cookie: Cookie;
  declare [kReq]: SessionRequest;
  declare [kId]: string;
  declare [kTrack]: Tracker | undefined;
  declare [kCreated]: number;
  declare [kLoaded]: Loaded | undefined;

  constructor(req: SessionRequest, data?: Record<string, unknown> | null) {
    // Hidden fields first and always, so every session has one shape.
    this[kReq] = req;
    this[kId] = req.sessionID as string;
    this[kTrack] = undefined;
    this[kCreated] = 0;
    this[kLoaded] = undefined;
    if (typeof data === 'object' && data !== null) {
      // `in` (not hasOwnProperty) on purpose: stored keys never shadow methods,
      // `id`, or Object.prototype members such as `__proto__`.
      for (const prop in data) {
        if (!(prop in this)) (this as unknown as Record<string, unknown>)[prop] = data[prop];
      }
    }
  }

  /** The session id (read-only; `regenerate()` makes a new session). */
  get id(): string {
    return this[kId];
  }

  /** The request this session belongs to. */
  get req(): SessionRequest {
    return this[kReq];
  }

  /** Restores the cookie's lifetime to its `originalMaxAge` (the middleware calls it once per request). */
  touch(): this {
    return this.resetMaxAge();
  }

  /** Same as `touch()`. */
  resetMaxAge(): this {
    this.cookie.maxAge = this.cookie.originalMaxAge;
    return this;
  }

  /** Writes the session to the store now; the end-of-request save is then skipped if nothing changes. */
  save(fn?: Callback): this {
    const tracker = this[kTrack];
    if (tracker !== undefined) tracker.saved(this);
    this[kReq].sessionStore.set(this.id, this, fn || noop);
    return this;
  }

  /** Replaces `req.session` with the stored copy; errors if the store no longer has it. */
  reload(fn: Callback): this {
    const req = this[kReq];
    const store = req.sessionStore;
    const tracker = this[kTrack];
    store.get(this.id, (err: unknown, sess: Record<string, any> | null | undefined) => {
      if (err) return fn(err);
      if (!sess) return fn(new Error('failed to load session'));
      const next = createSession(req, sess);
      // A reloaded session is still the one the middleware watches.
      if (tracker !== undefined) next[kTrack] = tracker;
      fn();
    });
    return this;
  }

  /** Removes the session from the request and the store. */
  destroy(fn?: Callback): this {
    const req = this[kReq];
    delete req.session;
    const id = this.id;
    const accounts = (req.sessionStore as { accounts?: ExpressUsers | null }).accounts;
    if (accounts == null) {
      req.sessionStore.destroy(id, fn);
      return this;
    }
    // A logged-in session also leaves its user's index (a logout).
    req.sessionStore.destroy(id, (err?: unknown) => {
      if (!err) accounts.unbind(id, this as unknown as Record<string, unknown>);
      fn?.(err);
    });
    return this;
  }

  /** Destroys the session and puts a new one (new id, no data) on the request. */
  regenerate(fn: Callback): this {
    const req = this[kReq];
    const store = req.sessionStore;
    if (typeof store.regenerate === 'function') {
      store.regenerate(req, fn);
    } else {
      store.destroy(req.sessionID, (err: unknown) => {
        store.generate(req);
        fn(err);
      });
    }
    return this;
  }
}

function noop(): void {}

/**
 * Turns a stored session object into `req.session` (express-session's
 * `Store#createSession`): `cookie` becomes a Cookie whose `expires` is a Date
 * again and whose `originalMaxAge` is kept. A record without a `cookie`
 * object throws, as express-session's does.
 */
export function createSession(req: SessionRequest, sess: Record<string, any>): Session {
  const stored = sess.cookie;
  const expires = stored.expires;
  const originalMaxAge = stored.originalMaxAge;
  const cookie = new Cookie(stored);
  if (typeof expires === 'string') cookie.expires = new Date(expires);
  cookie.originalMaxAge = originalMaxAge;
  sess.cookie = cookie;
  const session = new Session(req, sess);
  const created = (sess as { [kCreated]?: number })[kCreated];
  if (created !== undefined) session[kCreated] = created;
  const loaded = (sess as { [kLoaded]?: Loaded })[kLoaded];
  if (loaded !== undefined) session[kLoaded] = loaded;
  req.session = session;
  return session;
}
