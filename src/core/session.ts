import type { CookieOptions } from './cookie';
import type { Entries } from './entries';
import { MODIFIED, REGENERATED, REGENERATING } from './lifecycle';
import type { SessionState } from './state';
import { USER_KEY } from './users';
import { codes, HotsessionError } from '../errors';

/** Shape of session data: string keys, msgpack-encodable values. */
export type SessionData = Record<string, unknown>;

/** The keys of `Data` a session can be asked for. */
export type SessionKey<Data extends SessionData> = keyof Data & string;

let peek: (s: Session<SessionData>) => SessionState;

function checkName(key: unknown): asserts key is string {
  if (typeof key !== 'string') throw new TypeError(`session keys are strings, not ${typeof key}`);
  // The login binding (users.ts) is written by login()/destroy() only: a handler
  // that set it could claim another user's identity in the user index.
  if (key === USER_KEY) throw new HotsessionError(codes.ENCODE, `the session key "${USER_KEY}" is reserved for login()`);
}

/**
 * One named session of one request.
 *
 * Each top-level key is its own entry in the stored record: a value is
 * decoded on its first `get`, a commit sends only the keys this request
 * set or deleted, and an unchanged session costs no store write and no
 * Set-Cookie. Concurrent requests on one session that change different keys
 * all keep their changes; the same key written by two of them keeps the
 * later write.
 *
 * Store a change with `set`: mutating an object returned by `get` changes
 * nothing stored. `Session<{ user: string; views: number }>` types `get`
 * and `set`.
 */
export class Session<Data extends SessionData = SessionData> {
  readonly #s: SessionState;
  readonly #e: Entries;

  /** @internal */
  constructor(state: SessionState) {
    this.#s = state;
    this.#e = state.entries;
  }

  static {
    peek = (s) => s.#s;
  }

  /** @internal True for a Session (not a look-alike). */
  static isSession(x: unknown): x is Session<SessionData> {
    return x !== null && typeof x === 'object' && #s in x;
  }

  /** The session id (changes on `regenerate()` and `destroy()`). */
  get id(): string {
    return this.#s.id;
  }

  /** True until the session has been stored once. */
  get isNew(): boolean {
    return !this.#s.stored;
  }

  /** True when the next commit has something to write (changed data or options, or a new id's cookie). */
  get isModified(): boolean {
    const p = this.#s.phase;
    return p === MODIFIED || p === REGENERATING || p === REGENERATED;
  }

  /**
   * The value stored under `key`, or undefined (also for a stored value
   * that cannot be decoded). Repeated calls return the same object.
   */
  get<K extends SessionKey<Data>>(key: K): Data[K] | undefined {
    return this.#e.get(key) as Data[K] | undefined;
  }

  /** Stores `value` under `key` (sent at the next commit). */
  set<K extends SessionKey<Data>>(key: K, value: Data[K]): this {
    checkName(key);
    this.#e.set(key, value);
    this.#s.change();
    return this;
  }

  /** Removes `key`. */
  delete<K extends SessionKey<Data>>(key: K): this {
    checkName(key);
    if (this.#e.delete(key)) this.#s.change();
    return this;
  }

  /** Removes every key. */
  clear(): this {
    this.#e.clear();
    this.#s.change();
    return this;
  }

  /**
   * Every key set, least recently written first (a key written by this
   * request moves to the end). Lists stored keys without decoding a value.
   */
  keys(): string[] {
    return this.#e.keys();
  }

  /** Appends a flash message under `key` (default `_flash`). */
  addFlash(value: unknown, key = '_flash'): this {
    checkName(key);
    const list = this.#e.get(key);
    this.#e.set(key, Array.isArray(list) ? [...list, value] : [value]);
    this.#s.change();
    return this;
  }

  /** Returns and removes the flash messages under `key` (default `_flash`). */
  flashes(key = '_flash'): unknown[] {
    checkName(key);
    const list = this.#e.get(key);
    if (list === undefined) return [];
    this.#e.delete(key);
    this.#s.change();
    return Array.isArray(list) ? list : [list];
  }

  /**
   * Cookie options for this response only (for example `{ maxAge: -1 }` to
   * delete the session, or a longer maxAge for "remember me").
   */
  options(cookie: CookieOptions): this {
    const s = this.#s;
    s.setCookieOptions(s.host.cookieOptions(s, cookie));
    return this;
  }

  /** Keys set and deleted since the last commit, and whether `clear()` ran (what the next patch carries). */
  changes(): { changed: readonly string[]; deleted: readonly string[]; cleared: boolean } {
    return this.#e.changes();
  }

  /**
   * Writes the session now and sets its cookie immediately; resolves when the
   * store acknowledged. Without it, a modified session is saved before the
   * response headers go out.
   */
  save(): Promise<void> {
    return this.#s.host.save(this.#s);
  }

  /**
   * Gives the session a new id, keeping its data, and retires the old id:
   * call it on login (session fixation defence). The old id never opens the
   * new session; requests still in flight with it keep their writes (they
   * reach the new id during the manager's `regenerateGrace`). Await it
   * before the response.
   */
  regenerate(): Promise<void> {
    return this.#s.host.regenerate(this.#s);
  }

  /**
   * Logs the session in as `userId`: gives it a new id (session fixation
   * defence, as `regenerate()`), records the user, the login time and the
   * opt-in `meta` (say `{ userAgent, ip }`), and lists the session under the
   * user (`manager.sessionsOf`). Resolves once the session is stored and
   * listed. A store without a per-user index rejects with
   * HOTSESSION_ERR_USERS_UNSUPPORTED; `meta` must be a plain object of at
   * most 1 KiB as JSON (HOTSESSION_ERR_ENCODE past it).
   */
  login(userId: string, meta?: Record<string, unknown>): Promise<void> {
    return this.#s.host.login(this.#s, userId, meta);
  }

  /** The logged-in user's id, or undefined for an anonymous session. */
  get userId(): string | undefined {
    return this.#s.host.binding(this.#s)?.u;
  }

  /**
   * This session's opaque handle in its user's session list (undefined when
   * anonymous): compare with `sessionsOf()` entries, pass to
   * `revokeSession`. It is not the id and reveals nothing of it.
   */
  get handle(): string | undefined {
    return this.#s.host.binding(this.#s)?.h;
  }

  /**
   * Destroys the stored record (a logout): requests still in flight with
   * the old id write nothing. The session continues as a new, empty one
   * with a new id; the cookie is cleared unless new data is stored. A
   * logged-in session also leaves its user's session list.
   */
  destroy(): Promise<void> {
    return this.#s.host.destroy(this.#s);
  }
}

/**
 * @internal The state behind a session: what the manager and the adapters
 * use. Throws a TypeError for anything that is not a Session.
 */
export function stateOf(session: Session<any>): SessionState {
  if (!Session.isSession(session)) throw new TypeError('not a hotsession Session');
  return peek(session);
}
