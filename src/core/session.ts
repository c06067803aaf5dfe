import { decodeData } from '../codec/msgpack';
import type { CookieOptions, ResolvedCookieOptions } from './cookie';

/** Shape of session data: string keys, any msgpack-encodable values. */
export type SessionData = Record<string, unknown>;

/** @internal What a session needs from its manager. */
export interface SessionHost {
  save(session: Session<any>): Promise<void>;
  regenerate(session: Session<any>): Promise<void>;
  destroy(session: Session<any>): Promise<void>;
  cookieOptions(session: Session<any>, input: CookieOptions): ResolvedCookieOptions;
}

/** Receives Set-Cookie values as soon as an explicit `save()` produced them. @internal */
export type CookieSink = (setCookie: readonly string[]) => void;

/**
 * One named session of one request.
 *
 * The stored record is decoded only when the handler first reads or writes
 * data, and an unchanged session is never re-encoded: reading it costs
 * nothing, and committing it costs no store write and no Set-Cookie.
 *
 * `Session<{ user: string; views: number }>` types `get` and `set`.
 */
export class Session<Data extends SessionData = SessionData> {
  /** @internal */ _id: string;
  /** @internal */ readonly _host: SessionHost;
  /** @internal Record body not decoded yet. */ _body: Uint8Array | null;
  /** @internal */ _data: SessionData | null;
  /** @internal Keys set since the last commit. */ _changed: Set<string> | null = null;
  /** @internal Keys deleted since the last commit. */ _deleted: Set<string> | null = null;
  /** @internal `clear()` was called since the last commit. */ _cleared = false;
  /** @internal Anything changed since the last commit. */ _modified = false;
  /** @internal No record exists under `_id` yet. */ _isNew: boolean;
  /** @internal */ _createdAt: number;
  /** @internal Per-response cookie options from `options()`. */ _cookie: ResolvedCookieOptions | null = null;
  /** @internal The request carried a cookie for this session (so clearing it means something). */ _hadCookie: boolean;
  /** @internal Cookie parts the request carried (client-side stores). */ _parts: number;
  /** @internal Where explicit saves send their Set-Cookie values. */ _sink: CookieSink | null = null;
  /** @internal A commit for this response already ran and nothing changed since. */ _committed = false;
  /** @internal `destroy()` ran and no commit cleared the cookie yet. */ _destroyed = false;
  /** @internal Set-Cookie values of explicit saves that had no sink. */ _pending: string[] | null = null;

  /** @internal */
  constructor(host: SessionHost, id: string, isNew: boolean, body: Uint8Array | null, data: SessionData | null, createdAt: number, hadCookie: boolean, parts = 0) {
    this._host = host;
    this._id = id;
    this._isNew = isNew;
    this._body = body;
    this._data = data;
    this._createdAt = createdAt;
    this._hadCookie = hadCookie;
    this._parts = parts;
  }

  /** The session id (changes on `regenerate()` and `destroy()`). */
  get id(): string {
    return this._id;
  }

  /** True until the session has been stored once. */
  get isNew(): boolean {
    return this._isNew;
  }

  /** True when something changed that the next commit will write. */
  get isModified(): boolean {
    return this._modified;
  }

  /** @internal Decoded data; decodes the record body on first use. */
  _values(): SessionData {
    let data = this._data;
    if (data === null) {
      const body = this._body;
      // A body that does not decode is garbage from the store: the session starts empty.
      data = (body !== null ? decodeData(body) : null) ?? {};
      this._data = data;
      this._body = null;
    }
    return data;
  }

  /** @internal */
  _touch(): void {
    this._modified = true;
    this._committed = false;
  }

  /** The value stored under `key`, or undefined. */
  get<K extends keyof Data & string>(key: K): Data[K] | undefined {
    const data = this._values();
    return Object.prototype.hasOwnProperty.call(data, key) ? (data[key] as Data[K]) : undefined;
  }

  /** Stores `value` under `key`. */
  set<K extends keyof Data & string>(key: K, value: Data[K]): this {
    const data = this._values();
    data[key] = value;
    (this._changed ??= new Set()).add(key);
    this._deleted?.delete(key);
    this._touch();
    return this;
  }

  /** Removes `key`. */
  delete<K extends keyof Data & string>(key: K): this {
    const data = this._values();
    if (Object.prototype.hasOwnProperty.call(data, key)) {
      delete data[key];
      (this._deleted ??= new Set()).add(key);
      this._changed?.delete(key);
      this._touch();
    }
    return this;
  }

  /** Removes every key. */
  clear(): this {
    const data = this._values();
    for (const key in data) {
      (this._deleted ??= new Set()).add(key);
    }
    this._data = {};
    this._changed = null;
    this._cleared = true;
    this._touch();
    return this;
  }

  /** All keys currently set. */
  keys(): string[] {
    return Object.keys(this._values());
  }

  /** Appends a flash message under `key` (default `_flash`). */
  addFlash(value: unknown, key = '_flash'): this {
    const data = this._values();
    const list = data[key];
    const next = Array.isArray(list) ? [...list, value] : [value];
    data[key] = next;
    (this._changed ??= new Set()).add(key);
    this._deleted?.delete(key);
    this._touch();
    return this;
  }

  /** Returns and removes the flash messages under `key` (default `_flash`). */
  flashes(key = '_flash'): unknown[] {
    const data = this._values();
    const list = data[key];
    if (list === undefined) return [];
    delete data[key];
    (this._deleted ??= new Set()).add(key);
    this._changed?.delete(key);
    this._touch();
    return Array.isArray(list) ? list : [list];
  }

  /**
   * Cookie options for this response only (for example `{ maxAge: -1 }` to
   * delete the session, or a longer maxAge for "remember me").
   */
  options(cookie: CookieOptions): this {
    this._cookie = this._host.cookieOptions(this, cookie);
    this._touch();
    return this;
  }

  /** Keys set and deleted since the last commit (what a partial-write store would send). */
  changes(): { changed: readonly string[]; deleted: readonly string[]; cleared: boolean } {
    return {
      changed: this._changed ? [...this._changed] : [],
      deleted: this._deleted ? [...this._deleted] : [],
      cleared: this._cleared,
    };
  }

  /**
   * Writes the session now and sets its cookie immediately; resolves when the
   * store acknowledged. Without it, a modified session is saved before the
   * response headers go out.
   */
  save(): Promise<void> {
    return this._host.save(this);
  }

  /**
   * Gives the session a new id, keeping its data, and destroys the record
   * under the old id: call it on login (session fixation defence).
   */
  regenerate(): Promise<void> {
    return this._host.regenerate(this);
  }

  /**
   * Destroys the stored record. The session continues as a new, empty one
   * with a new id; the cookie is cleared unless new data is stored.
   */
  destroy(): Promise<void> {
    return this._host.destroy(this);
  }
}
