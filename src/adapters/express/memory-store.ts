import { optionsError } from '../../errors';
import { fingerprint } from './json';
import { kJson } from './symbols';
import { cookieExpiry, Store, type Callback } from './store';

/** Options of the express-compatible {@link MemoryStore}. */
export interface ExpressMemoryStoreOptions {
  /**
   * Most sessions kept; past it the least recently written is dropped.
   * @default Infinity (express-session's MemoryStore is unbounded too)
   */
  max?: number;
  /**
   * How often (ms) expired sessions are freed. Expired sessions are never
   * returned in between; the sweep only reclaims their memory.
   * @default 60_000
   */
  sweepInterval?: number;
}

interface Entry {
  /** The session's JSON without `cookie` (see `fingerprint`). */
  data: string;
  /** The cookie's JSON, kept apart so a touch rewrites only this. */
  cookie: string;
  /** Cookie expiry in ms; Infinity for a browser-session cookie. */
  expiresAt: number;
}

/**
 * `session.MemoryStore`: express-session's default store, for one process.
 * Sessions are kept as JSON strings (a handler cannot alter the stored copy,
 * and a Date comes back as a string, as with every JSON store), the cookie
 * apart from the data so that a touch does not re-serialize the session.
 *
 * Unlike express-session's, it answers its callbacks synchronously (no
 * `setImmediate` per call), frees expired sessions on an unref'd timer and
 * can be bounded with `max`.
 */
export class MemoryStore extends Store {
  #sessions = new Map<string, Entry>();
  readonly #max: number;
  #timer: NodeJS.Timeout | null;

  constructor(options: ExpressMemoryStoreOptions = {}) {
    super();
    const max = options.max ?? Infinity;
    const every = options.sweepInterval ?? 60_000;
    if (!(max === Infinity || (Number.isInteger(max) && max > 0))) throw optionsError('MemoryStore max must be a positive integer');
    if (!Number.isFinite(every) || every <= 0) throw optionsError('MemoryStore sweepInterval must be a positive number of ms');
    this.#max = max;
    this.#timer = setInterval(() => this.#sweep(), every);
    this.#timer.unref();
  }

  #read(sid: string): Record<string, any> | undefined {
    const entry = this.#sessions.get(sid);
    if (entry === undefined) return undefined;
    if (entry.expiresAt <= Date.now()) {
      this.#sessions.delete(sid);
      return undefined;
    }
    return JSON.parse(entry.data.length === 2 ? '{"cookie":' + entry.cookie + '}' : '{"cookie":' + entry.cookie + ',' + entry.data.slice(1)) as Record<string, any>;
  }

  #sweep(): void {
    const now = Date.now();
    for (const [sid, entry] of this.#sessions) if (entry.expiresAt <= now) this.#sessions.delete(sid);
  }

  override get(sid: string, callback: Callback<Record<string, any> | undefined>): void {
    let sess: Record<string, any> | undefined;
    try {
      sess = this.#read(sid);
    } catch (err) {
      return callback(err);
    }
    callback(null, sess);
  }

  override set(sid: string, session: Record<string, any>, callback?: Callback): void {
    let data: string;
    let cookie: string;
    try {
      data = (session as { [kJson]?: string })[kJson] ?? fingerprint(session);
      cookie = JSON.stringify(session.cookie ?? null);
    } catch (err) {
      if (callback) callback(err);
      return;
    }
    const map = this.#sessions;
    map.delete(sid);
    map.set(sid, { data, cookie, expiresAt: cookieExpiry(session) ?? Infinity });
    if (map.size > this.#max) map.delete(map.keys().next().value as string);
    if (callback) callback();
  }

  override touch(sid: string, session: Record<string, any>, callback?: Callback): void {
    const entry = this.#sessions.get(sid);
    if (entry !== undefined && entry.expiresAt > Date.now()) {
      // Only the cookie (its expiry) changes; the stored data stays as it was.
      entry.cookie = JSON.stringify(session.cookie ?? null);
      entry.expiresAt = cookieExpiry(session) ?? Infinity;
    }
    if (callback) callback();
  }

  override destroy(sid: string, callback?: Callback): void {
    this.#sessions.delete(sid);
    if (callback) callback();
  }

  /** Every live session, keyed by id. */
  override all(callback: Callback<Record<string, Record<string, any>>>): void {
    const out: Record<string, Record<string, any>> = Object.create(null);
    for (const sid of [...this.#sessions.keys()]) {
      const sess = this.#read(sid);
      if (sess !== undefined) out[sid] = sess;
    }
    if (callback) callback(null, out);
  }

  /** Number of live sessions. */
  override length(callback: Callback<number>): void {
    this.all((err, sessions) => (err ? callback(err) : callback(null, Object.keys(sessions!).length)));
  }

  /** Drops every session. */
  override clear(callback?: Callback): void {
    this.#sessions.clear();
    if (callback) callback();
  }

  /** Stops the sweep timer (the store stays usable). */
  close(): void {
    if (this.#timer !== null) {
      clearInterval(this.#timer);
      this.#timer = null;
    }
  }
}
