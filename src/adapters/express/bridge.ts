import { codec } from '../../codec';
import { FRAME_MAGIC, KIND_RECORD, RECORD_VERSION } from '../../codec/layout';
import { decodeData } from '../../codec/msgpack';
import { nameTag } from '../../codec/record';
import { recordObject } from '../../core/record-keys';
import { optionsError } from '../../errors';
import type { DecodedRecord, MaybePromise, SessionStore } from '../../stores/types';
import { storedForm } from './json';
import { cookieExpiry, Store, type Callback } from './store';
import { Cookie, type CookieOptions } from './cookie';
import { encodeSession, landed, SavePatch, snapshot, type Loaded } from './per-key';
import { kCreated, kLoaded, kTrack } from './symbols';
import { spentWrite, withinBudget, type Budgeted } from '../../core/budget';
import type { ExpressUsers } from './users';

/**
 * Options of {@link toExpressStore}.
 *
 * **JSON or msgpack.** With `'json'` (the default) a session is stored the
 * way express-session and its stores store it: `JSON.stringify` of the
 * session, so a Date in the session comes back as an ISO string, `undefined`
 * values and functions vanish, objects with `toJSON` are stored as what it
 * returns, and Map, Set, BigInt or `Infinity` do not survive. Apps moving
 * from express-session see no change. With `'msgpack'` the body is msgpack:
 * smaller and faster to encode and decode, and Dates, binary Buffers,
 * BigInts, `undefined` and non-finite numbers come back as themselves, but
 * `toJSON` is not consulted; class instances come back as plain objects,
 * which an app written against JSON semantics may not expect. Reads accept
 * both bodies whatever the setting, so switching is safe in both directions.
 */
export interface ExpressStoreOptions {
  /** Session body encoding (see above). @default 'json' */
  serializer?: 'json' | 'msgpack';
  /**
   * Store lifetime (ms) of a session whose cookie has no expiry (a
   * browser-session cookie), as connect-redis's `ttl`.
   * @default 86_400_000 (one day)
   */
  ttl?: number;
  /**
   * Cookie settings given to records that carry no express-session cookie:
   * connect-redis records read through `RedisStore({ legacy: 'read' })`
   * (which keeps only their expiry) and records written by hotsession's own
   * adapters. The middleware passes its `cookie` option.
   * @default {} (path '/', httpOnly, browser-session unless the record has an expiry)
   */
  cookie?: CookieOptions;
  /**
   * The session (cookie) name new records are bound to (their name tag,
   * as `SessionManager(name)` binds the other adapters' records), so that
   * hotsession/http or hotsession/uws under the same name read them. The
   * middleware passes its `name` option.
   * @default 'connect.sid'
   */
  name?: string;
  /**
   * @internal Set by `session.MemoryStore`, whose core store no one else
   * writes: a record stored without a cookie comes back as it was stored
   * (express-session's MemoryStore does, and its suite pins the 500 that
   * follows), and the middleware keeps express-session's error order.
   */
  own?: boolean;
}

/**
 * The store-time budget of the hotsession/express request `session` belongs
 * to (its tracker), when the store has a timeout; null otherwise (no
 * budget: express-session itself calling this store, an explicit save of a
 * regenerated session).
 */
function budgetOf(session: Record<string, any>): Budgeted | null {
  const t = (session as { [kTrack]?: Budgeted })[kTrack];
  return t === undefined || t.budgetLeft === Infinity ? null : t;
}

function isPromise<T>(v: MaybePromise<T>): v is Promise<T> {
  return typeof (v as Promise<T> | null)?.then === 'function';
}

/** Calls back with a store answer; promise answers call back outside the promise chain. */
function settle<T>(run: () => MaybePromise<T>, cb: Callback<T>): void {
  let v: MaybePromise<T>;
  try {
    v = run();
  } catch (err) {
    return cb(err);
  }
  if (isPromise(v)) {
    v.then((value) => process.nextTick(cb, null, value), (err: unknown) => process.nextTick(cb, err ?? new Error('store failed')));
  } else {
    cb(null, v);
  }
}

const noop: Callback = () => {};

/**
 * A hotsession {@link SessionStore} (memory, Redis, Memcached, MongoDB) as an
 * express-session callback store: usable by `hotsession/express` and by
 * express-session itself. Sessions are kept in hotsession's framed record
 * format, so batching and everything the store does for its records stay intact.
 */
export class HotsessionExpressStore extends Store {
  /** The wrapped hotsession store. */
  readonly store: SessionStore;
  /** Users' sessions of the hotsession/express middleware using this store (it sets them), else null. */
  accounts: ExpressUsers | null = null;
  /**
   * @internal Whether the middleware answers this store's failures itself
   * (503 before anything was sent, the cookie decided before the store
   * call) rather than with express-session's order. False for
   * `session.MemoryStore`, which keeps express-session's behaviour exactly.
   */
  readonly answersErrors: boolean = true;
  /** @internal The name tag new records carry. */
  tag: number;
  readonly #msgpack: boolean;
  readonly #ttl: number;
  /** null: the records are the view's own, and one stored without a cookie comes back without (see `own`). */
  readonly #cookie: CookieOptions | null;
  #name: string;
  /** `own` and not yet given the name of the middleware using it (see `adopt`). */
  #unnamed: boolean;

  constructor(store: SessionStore, options: ExpressStoreOptions = {}) {
    super();
    if (!isHotsessionStore(store)) throw optionsError('toExpressStore() takes a hotsession SessionStore');
    const serializer = options.serializer ?? 'json';
    if (serializer !== 'json' && serializer !== 'msgpack') throw optionsError('serializer must be "json" or "msgpack"');
    const ttl = options.ttl ?? 86_400_000;
    if (!Number.isFinite(ttl) || ttl <= 0) throw optionsError('ttl must be a positive number of ms');
    this.store = store;
    this.#msgpack = serializer === 'msgpack';
    this.#ttl = ttl;
    const own = options.own === true;
    this.#cookie = own ? null : (options.cookie ?? {});
    this.#name = options.name ?? 'connect.sid';
    this.tag = nameTag(this.#name);
    if (own) this.answersErrors = false;
    this.#unnamed = own && options.name === undefined;
  }

  /** @internal The session (cookie) name the records are bound to: what the users' index and account API match them by. */
  get recordName(): string {
    return this.#name;
  }

  /**
   * @internal A `session.MemoryStore` is made before the middleware that
   * uses it: the first middleware's cookie name becomes its records' name,
   * which the users' index and account API match records by.
   */
  adopt(name: string): void {
    if (!this.#unnamed) return;
    this.#unnamed = false;
    this.#name = name;
    this.tag = nameTag(name);
  }

  /** Calls back with the stored session, or with null when there is none (no value for an `own` store, as express-session's MemoryStore). */
  override get(sid: string, callback: Callback<Record<string, any> | null | undefined>): void {
    settle(() => {
      const rec = this.store.get(sid);
      return isPromise(rec) ? rec.then((r) => this.#read(sid, r)) : this.#read(sid, rec);
    }, callback);
  }

  #read(sid: string, rec: Uint8Array | DecodedRecord | null): Record<string, any> | null | undefined {
    const sess = readRecord(sid, rec, this.#cookie);
    return sess === null && this.#cookie === null ? undefined : sess;
  }

  override set(sid: string, session: Record<string, any>, callback: Callback = noop): void {
    const now = Date.now();
    const ttl = this.#lifetime(session, now);
    if (ttl <= 0) return settle(() => this.store.destroy(sid), callback);
    const budget = budgetOf(session);
    settle(() => {
      if (budget !== null) {
        const spent = spentWrite(this.#name, budget, this.store.timeout);
        if (spent !== null) return spent;
      }
      // The session as the store keeps it: JSON's view of it (express-session's), or msgpack's.
      const data = this.#msgpack ? plain(session) : storedForm(session);
      const s = session as { [kCreated]?: number; [kLoaded]?: Loaded };
      const created = s[kCreated] ? s[kCreated] : now;
      const loaded = s[kLoaded]?.id === sid ? s[kLoaded] : undefined;
      // A loaded record keeps its own tag: the patch must match the record it lands on.
      const tag = loaded?.tag ?? this.tag;
      const enc = encodeSession(data, loaded, created, tag);
      const done = (): void => {
        // The next save of this session in the same request sends only what changed since this one.
        s[kLoaded] = landed(loaded, sid, tag, enc);
      };
      // Hard expiry 0: `touch` extends the store's TTL without rewriting the
      // record, so the TTL is the only expiry that stays true.
      const op = !enc.patch
        ? this.store.set(sid, enc.bytes!, ttl)
        : enc.bytes === null
          ? this.store.touch(sid, ttl)
          : this.#patch(sid, enc.bytes, ttl, data, created, tag);
      if (isPromise(op)) {
        const write = (op as Promise<unknown>).then(done);
        return budget === null ? write : withinBudget(this.#name, budget, write, this.store.timeout);
      }
      done();
      return undefined;
    }, callback);
  }

  override touch(sid: string, session: Record<string, any>, callback: Callback = noop): void {
    const ttl = this.#lifetime(session, Date.now());
    if (ttl <= 0) return callback();
    const budget = budgetOf(session);
    settle(() => {
      const spent = budget === null ? null : spentWrite(this.#name, budget, this.store.timeout);
      if (spent !== null) return spent;
      const op = this.store.touch(sid, ttl);
      return budget === null || !isPromise(op) ? op : withinBudget(this.#name, budget, op, this.store.timeout);
    }, callback);
  }

  override destroy(sid: string, callback: Callback = noop): void {
    settle(() => this.store.destroy(sid), callback);
  }

  /** Closes the wrapped store. */
  close(): Promise<void> {
    return this.store.close();
  }

  /** @internal Store lifetime (ms from `now`) of `session`: its cookie's expiry, else `ttl`. */
  lifetime(session: Record<string, any>, now: number): number {
    return this.#lifetime(session, now);
  }

  /** Sends a save's patch; only an answer other than a synchronous 'ok' needs a delivery to follow it. */
  #patch(sid: string, patch: Buffer, ttl: number, data: Record<string, unknown>, created: number, tag: number): MaybePromise<void> {
    const outcome = this.store.patch(sid, patch, ttl);
    return outcome === 'ok' ? undefined : new SavePatch(this.store, sid, patch, ttl, data, created, tag).run(outcome);
  }

  #lifetime(session: Record<string, any>, now: number): number {
    const expiresAt = cookieExpiry(session);
    return expiresAt === undefined ? this.#ttl : Math.ceil(expiresAt - now);
  }
}

/**
 * Wraps a hotsession store as an express-session store:
 * `session({ store: toExpressStore(new RedisStore(...)) })` works with
 * express-session as well as with hotsession/express (which also wraps a
 * hotsession store passed directly as `store`).
 */
export function toExpressStore(store: SessionStore, options?: ExpressStoreOptions): HotsessionExpressStore {
  return new HotsessionExpressStore(store, options);
}

/** Same as {@link toExpressStore}: the bridge the middleware applies to a hotsession store. */
export const fromHotsessionStore = toExpressStore;

/**
 * True for a hotsession server-side store (promise-or-value methods, `get(id)`
 * with one parameter, `close()`), false for an express-session callback store.
 */
export function isHotsessionStore(x: unknown): x is SessionStore {
  if (x === null || typeof x !== 'object') return false;
  const s = x as Record<string, any>;
  return typeof s.get === 'function' && s.get.length < 2 && typeof s.set === 'function' &&
    typeof s.touch === 'function' && typeof s.destroy === 'function' && typeof s.close === 'function' &&
    typeof s.createSession !== 'function' && s.kind !== 'cookie';
}

/**
 * A stored record as a session object, or null for absent, expired or
 * garbage. Besides frames, a store may hand back what express-session stores
 * wrote under the same key (connect-redis's JSON text, or a record its store
 * decoded): those are read too, so switching stacks logs nobody out.
 */
export function readRecord(sid: string, rec: Uint8Array | DecodedRecord | null, defaults: CookieOptions | null): Record<string, any> | null {
  if (rec === null) return null;
  const now = Date.now();
  let sess: Record<string, any> | null;
  let created = now;
  let expiresAt = 0;
  let loaded: Loaded | undefined;
  if (rec instanceof Uint8Array && rec[0] === FRAME_MAGIC && rec[1] === RECORD_VERSION) {
    // A per-key record written by the other adapters: every value that decodes.
    // A FORWARD marker (a regenerated id) is no session, as in the core.
    const view = codec.scan(rec);
    if (view === null || view.kind !== KIND_RECORD) return null;
    sess = recordObject(rec, view);
    loaded = snapshot(sid, rec, view);
    created = view.createdAt;
    expiresAt = view.expiresAt;
  } else if (rec instanceof Uint8Array) {
    const frame = codec.unframe(rec);
    if (frame !== null) {
      sess = decodeBody(frame.body);
      created = frame.createdAt;
      expiresAt = frame.expiresAt;
    } else {
      // Not a frame: only express-session JSON (an object with a cookie) is accepted.
      sess = rec[0] === 0x7b ? decodeBody(rec) : null;
      if (sess === null || !isObject(sess.cookie)) return null;
      const cookieExpires = cookieExpiry(sess);
      if (cookieExpires !== undefined) expiresAt = Math.max(1, cookieExpires);
    }
  } else {
    sess = isObject(rec.data) ? rec.data : null;
    created = rec.createdAt;
    expiresAt = rec.expiresAt;
  }
  if (sess === null || (expiresAt !== 0 && expiresAt <= now)) return null;
  if (sess.cookie === undefined && defaults !== null) {
    const cookie = new Cookie(defaults).data;
    if (expiresAt !== 0) cookie.expires = new Date(expiresAt);
    // 'auto' is decided per request when a session is created; a rebuilt cookie has no such moment.
    if (cookie.sameSite === 'auto') cookie.sameSite = undefined;
    sess.cookie = cookie;
  } else if (sess.cookie !== undefined && !isObject(sess.cookie)) {
    return null;
  }
  (sess as { [kCreated]?: number })[kCreated] = created;
  if (loaded !== undefined) (sess as { [kLoaded]?: Loaded })[kLoaded] = loaded;
  return sess;
}

function isObject(v: unknown): v is Record<string, any> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** JSON bodies start with '{'; anything else is msgpack. Garbage gives null. */
function decodeBody(body: Uint8Array): Record<string, any> | null {
  if (body[0] !== 0x7b) return decodeData(body);
  try {
    const buf = Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
    const value: unknown = JSON.parse(buf.toString('utf8'));
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, any>) : null;
  } catch {
    return null;
  }
}

/** The session as a plain object for msgpack: data keys plus the cookie's defined fields. */
function plain(session: Record<string, any>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(session)) out[key] = session[key];
  const c = session.cookie;
  if (c && typeof c === 'object') {
    const data = (typeof c.toJSON === 'function' ? c.toJSON() : c) as Record<string, unknown>;
    const cookie: Record<string, unknown> = {};
    for (const key of Object.keys(data)) if (data[key] !== undefined) cookie[key] = data[key];
    out.cookie = cookie;
  }
  return out;
}
