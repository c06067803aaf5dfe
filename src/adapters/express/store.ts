import { EventEmitter } from 'node:events';
import { createSession, Session, type SessionRequest } from './session';

/** Node-style callback. */
export type Callback<T = void> = (err?: any, value?: T) => void;

/**
 * The express-session store contract: a callback API on an EventEmitter
 * ('connect' / 'disconnect' tell the middleware whether the store is usable).
 * Subclasses implement `get`, `set` and `destroy`; `touch`, `all`, `length`
 * and `clear` are optional.
 */
export interface Store extends EventEmitter {
  get(sid: string, callback: Callback<Record<string, any> | null | undefined>): void;
  set(sid: string, session: Record<string, any>, callback?: Callback): void;
  destroy(sid: string, callback?: Callback): void;
  touch?(sid: string, session: Record<string, any>, callback?: Callback): void;
  all?(callback: Callback<Record<string, Record<string, any>> | Record<string, any>[]>): void;
  length?(callback: Callback<number>): void;
  clear?(callback?: Callback): void;
  /** Set by the middleware: puts a fresh session on `req`. */
  generate?(req: SessionRequest): void;
  /** Destroys `req.sessionID` and generates a new session on `req`. */
  regenerate(req: SessionRequest, fn: Callback): void;
  /** Fetches `sid` as a Session (undefined when absent). */
  load(sid: string, fn: Callback<Session | undefined>): void;
  /** Turns a stored object into `req.session`. */
  createSession(req: SessionRequest, session: Record<string, any>): Session;
}

/**
 * What `session({ store })` needs of a connect-style store: the three
 * callback methods (and `touch` when it has one) on an EventEmitter. Written
 * loosely on purpose, so that any store typed by `@types/express-session`
 * (connect-redis, connect-mongo, express-session's MemoryStore...) is
 * accepted without a cast.
 */
export interface ConnectStore extends EventEmitter {
  get(sid: string, callback: (err: any, session?: any) => void): void;
  set(sid: string, session: any, callback?: (err?: any) => void): void;
  destroy(sid: string, callback?: (err?: any) => void): void;
  touch?(sid: string, session: any, callback?: (err?: any) => void): void;
}

/** `Store` is a plain constructor so both `class X extends Store` and `Store.call(this)` + `util.inherits` work. */
export interface StoreConstructor {
  new (): Store;
  (this: any): void;
  prototype: Store;
}

function StoreBase(this: EventEmitter): void {
  EventEmitter.call(this);
}
Object.setPrototypeOf(StoreBase.prototype, EventEmitter.prototype);
Object.setPrototypeOf(StoreBase, EventEmitter);

const proto = StoreBase.prototype as Store;

function defineMethod(name: string, fn: (...args: any[]) => unknown): void {
  Object.defineProperty(proto, name, { configurable: true, enumerable: false, writable: true, value: fn });
}

defineMethod('regenerate', function regenerate(this: Store, req: SessionRequest, fn: Callback) {
  this.destroy(req.sessionID as string, (err?: unknown) => {
    this.generate!(req);
    fn(err);
  });
});

defineMethod('load', function load(this: Store, sid: string, fn: Callback<Session | undefined>) {
  this.get(sid, (err, sess) => {
    if (err) return fn(err);
    if (!sess) return fn();
    // A stand-in request: the session needs one to find its store.
    fn(null, createSession({ sessionID: sid, sessionStore: this }, sess));
  });
});

defineMethod('createSession', function (this: Store, req: SessionRequest, sess: Record<string, any>) {
  return createSession(req, sess);
});

/** Base class of callback stores (express-session's `session.Store`). */
export const Store = StoreBase as unknown as StoreConstructor;

/** Milliseconds until a stored session's cookie expires, or undefined for a browser-session cookie. */
export function cookieExpiry(sess: Record<string, any>): number | undefined {
  const expires = sess.cookie?.expires as unknown;
  if (expires instanceof Date) return expires.getTime();
  if (typeof expires === 'string') {
    const t = Date.parse(expires);
    return Number.isNaN(t) ? undefined : t;
  }
  return undefined;
}
