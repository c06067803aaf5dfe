import { optionsError } from '../../errors';
import { MemoryStore as CoreMemoryStore } from '../../stores/memory';
import { codec } from '../../codec';
import { KIND_FORWARD, KIND_RECORD } from '../../codec/layout';
import { HotsessionExpressStore, readRecord } from './bridge';
import { storedForm } from './json';
import { keyPatch, type Loaded } from './per-key';
import { kCreated, kLoaded } from './symbols';
import type { Callback } from './store';

/** Options of the express-compatible {@link MemoryStore}. */
export interface ExpressMemoryStoreOptions {
  /**
   * Most sessions kept, as in the core MemoryStore. Past it one is dropped:
   * the least recently used of the sessions that were never loaded again
   * (one-shot visitors) first, then the least recently used returning
   * session (src/stores/memory/slru.ts), so cookieless writers cannot push
   * out users who came back. `Infinity` keeps express-session's unbounded
   * store.
   * @default 100_000 (express-session's MemoryStore has no bound)
   */
  max?: number;
  /**
   * How often (ms) expired sessions are freed. Expired sessions are never
   * returned in between; the sweep only reclaims their memory.
   * @default 60_000
   */
  sweepInterval?: number;
  /**
   * Store lifetime (ms) of a session whose cookie has no expiry (a
   * browser-session cookie), renewed by every request of that session.
   * @default 86_400_000 (one day; express-session keeps such sessions until the process ends)
   */
  ttl?: number;
}

/**
 * `session.MemoryStore`: express-session's default store, for one process,
 * as a view over the core {@link CoreMemoryStore}: the same per-key
 * records, patches and eviction as every other hotsession adapter, so two
 * overlapping requests that change different keys both keep their change.
 * Values are kept as JSON would keep them (a Date comes back as a string, as
 * with every express-session store), and the express-session callback API
 * (`all`, `length`, `clear`) stays.
 *
 * Unlike express-session's, it answers its callbacks synchronously (no
 * `setImmediate` per call), frees expired sessions on an unref'd timer and
 * is bounded by `max`.
 */
export class MemoryStore extends HotsessionExpressStore {
  declare readonly store: CoreMemoryStore;

  constructor(options: ExpressMemoryStoreOptions = {}) {
    const max = options.max ?? 100_000;
    if (!(max === Infinity || (Number.isInteger(max) && max > 0))) throw optionsError('MemoryStore max must be a positive integer');
    // The core store grows its tables with its size, so a bound no process reaches is no bound.
    const bound = max === Infinity ? Number.MAX_SAFE_INTEGER : max;
    const core = new CoreMemoryStore({ max: bound, ...(options.sweepInterval === undefined ? {} : { sweepInterval: options.sweepInterval }) });
    super(core, { own: true, ...(options.ttl === undefined ? {} : { ttl: options.ttl }) });
  }

  /**
   * Moves the stored cookie's expiry (as express-session's MemoryStore
   * does): a patch of the `cookie` key alone, so the data stays as stored
   * and a write racing this touch keeps its keys. A cookie that has expired
   * ends the session, as a save of it would.
   */
  override touch(sid: string, session: Record<string, any>, callback?: Callback): void {
    try {
      this.#touch(sid, session);
    } catch (err) {
      if (callback) callback(err);
      return;
    }
    if (callback) callback();
  }

  #touch(sid: string, session: Record<string, any>): void {
    const ttl = this.lifetime(session, Date.now());
    if (ttl <= 0) return this.store.destroy(sid);
    // The patch's header becomes the record's: it carries the record's own creation time and name,
    // known from the load when `session` is the request's (the middleware's touch), else read here.
    const s = session as { [kCreated]?: number; [kLoaded]?: Loaded };
    const loaded = s[kLoaded];
    let createdAt = s[kCreated];
    let tag = loaded?.id === sid ? loaded.tag : undefined;
    if (createdAt === undefined || tag === undefined) {
      // Absent, expired, evicted or destroyed: a touch never brings a session back.
      const rec = this.store.peek(sid);
      if (rec === null) return;
      const view = codec.scan(rec);
      // A regenerated id's FORWARD marker keeps its own short life.
      if (view !== null && view.kind === KIND_FORWARD) return;
      // Not a per-key record (written to `.store` in an older format): its lifetime moves, its bytes stay.
      if (view === null || view.kind !== KIND_RECORD) return this.store.touch(sid, ttl);
      createdAt = view.createdAt;
      tag = view.nameTag;
    }
    const { cookie } = storedForm({ cookie: session.cookie });
    if (cookie === undefined) return this.store.touch(sid, ttl);
    // 'gone' stays gone and a FORWARD marker keeps its life; 'stale' (an older format) only moves the lifetime.
    if (this.store.patch(sid, keyPatch('cookie', cookie, createdAt, tag), ttl) === 'stale') this.store.touch(sid, ttl);
  }

  /** Every live session, keyed by id (read as an onlooker: nothing is promoted in the eviction order). */
  override all(callback: Callback<Record<string, Record<string, any>>>): void {
    const out: Record<string, Record<string, any>> = Object.create(null);
    try {
      for (const sid of [...this.store.ids()]) {
        const sess = readRecord(sid, this.store.peek(sid), null);
        if (sess !== null) out[sid] = sess;
      }
    } catch (err) {
      return callback(err);
    }
    callback(null, out);
  }

  /** Number of live sessions. */
  override length(callback: Callback<number>): void {
    this.all((err, sessions) => (err ? callback(err) : callback(null, Object.keys(sessions!).length)));
  }

  /** Drops every session. */
  override clear(callback?: Callback): void {
    this.store.clear();
    if (callback) callback();
  }
}
