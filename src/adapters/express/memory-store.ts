import { optionsError } from '../../errors';
import { SegmentedLru } from '../../stores/memory/slru';
import { fingerprint } from './json';
import { kJson } from './symbols';
import { cookieExpiry, Store, type Callback } from './store';

/** Options of the express-compatible {@link MemoryStore}. */
export interface ExpressMemoryStoreOptions {
  /**
   * Most sessions kept. Past it one is dropped: the least recently used of
   * the sessions that were never loaded again (one-shot visitors) first,
   * then the least recently used returning session (the core MemoryStore's
   * segmented LRU, src/stores/memory/slru.ts), so cookieless writers cannot
   * push out users who came back.
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
  /** The entry's slot in the eviction policy; -1 when the store is unbounded. */
  slot: number;
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
  /** null when unbounded: nothing is ever evicted, so no policy is paid for. */
  readonly #lru: SegmentedLru | null;
  /** Per slot: the session id it holds, so the policy's victim can be dropped from the map. */
  #ids: string[] = [];
  #timer: NodeJS.Timeout | null;

  constructor(options: ExpressMemoryStoreOptions = {}) {
    super();
    const max = options.max ?? Infinity;
    const every = options.sweepInterval ?? 60_000;
    if (!(max === Infinity || (Number.isInteger(max) && max > 0))) throw optionsError('MemoryStore max must be a positive integer');
    if (!Number.isFinite(every) || every <= 0) throw optionsError('MemoryStore sweepInterval must be a positive number of ms');
    this.#lru = max === Infinity ? null : new SegmentedLru(max);
    this.#timer = setInterval(() => this.#sweep(), every);
    this.#timer.unref();
  }

  #drop(sid: string, entry: Entry): void {
    this.#sessions.delete(sid);
    if (entry.slot !== -1) {
      this.#lru!.remove(entry.slot);
      this.#ids[entry.slot] = '';
    }
  }

  /** `hit`: a load by a request, which promotes the session (all() reads without counting as use). */
  #read(sid: string, hit: boolean): Record<string, any> | undefined {
    const entry = this.#sessions.get(sid);
    if (entry === undefined) return undefined;
    if (entry.expiresAt <= Date.now()) {
      this.#drop(sid, entry);
      return undefined;
    }
    if (hit && entry.slot !== -1) this.#lru!.hit(entry.slot);
    return JSON.parse(entry.data.length === 2 ? '{"cookie":' + entry.cookie + '}' : '{"cookie":' + entry.cookie + ',' + entry.data.slice(1)) as Record<string, any>;
  }

  #sweep(): void {
    const now = Date.now();
    for (const [sid, entry] of this.#sessions) if (entry.expiresAt <= now) this.#drop(sid, entry);
  }

  override get(sid: string, callback: Callback<Record<string, any> | undefined>): void {
    let sess: Record<string, any> | undefined;
    try {
      sess = this.#read(sid, true);
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
    const expiresAt = cookieExpiry(session) ?? Infinity;
    const map = this.#sessions;
    const lru = this.#lru;
    const entry = map.get(sid);
    if (entry !== undefined) {
      entry.data = data;
      entry.cookie = cookie;
      entry.expiresAt = expiresAt;
      if (entry.slot !== -1) lru!.touch(entry.slot);
    } else if (lru === null) {
      map.set(sid, { data, cookie, expiresAt, slot: -1 });
    } else {
      if (lru.size >= lru.max) {
        const victim = lru.victim();
        const id = this.#ids[victim]!;
        this.#drop(id, map.get(id)!);
      }
      const slot = lru.insert();
      this.#ids[slot] = sid;
      map.set(sid, { data, cookie, expiresAt, slot });
    }
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
    const entry = this.#sessions.get(sid);
    if (entry !== undefined) this.#drop(sid, entry);
    if (callback) callback();
  }

  /** Every live session, keyed by id. */
  override all(callback: Callback<Record<string, Record<string, any>>>): void {
    const out: Record<string, Record<string, any>> = Object.create(null);
    for (const sid of [...this.#sessions.keys()]) {
      const sess = this.#read(sid, false);
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
    this.#lru?.clear();
    this.#ids = [];
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
