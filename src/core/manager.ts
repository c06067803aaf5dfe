import { codec } from '../codec';
import { encodeData } from '../codec/msgpack';
import type { Signer } from '../codec/types';
import { isCookieStore, type AnyStore, type CookieRecord, type CookieSessionStore, type DecodedRecord, type MaybePromise, type SessionStore } from '../stores/types';
import { clearCookie, resolveCookieOptions, serializeCookie, type CookieOptions, type ResolvedCookieOptions } from './cookie';
import { generateId, isValidCustomId, isValidId } from './id';
import { resolveOptions, type ResolvedOptions, type SessionOptions } from './options';
import { Session, type SessionData } from './session';

/** What committing a session produced: Set-Cookie values now, the store write maybe later. */
export interface Prepared {
  /** Set-Cookie header values to send (empty: send none). */
  headers: readonly string[];
  /** Settles when the store acknowledged the write (undefined: nothing to wait for). */
  write: MaybePromise<void>;
}

const NONE: readonly string[] = [];
const DONE: Prepared = { headers: NONE, write: undefined };

function isPromise<T>(v: MaybePromise<T>): v is Promise<T> {
  return typeof (v as Promise<T> | null)?.then === 'function';
}

/**
 * Turns a Cookie header into a Session and a Session back into Set-Cookie
 * values plus a store write. Framework-agnostic: adapters call `load` when a
 * request arrives and `commit` (or `prepare`) before the response goes out.
 *
 * Both answer synchronously when the store does (memory, cookie), so an
 * adapter can serve those stores without a single await.
 */
export class SessionManager<Data extends SessionData = SessionData> {
  /** Cookie name. */
  readonly name: string;
  readonly store: AnyStore;
  readonly #opts: ResolvedOptions;
  readonly #signer: Signer;
  readonly #server: SessionStore | null;
  readonly #client: CookieSessionStore | null;
  readonly #validId: (id: string) => boolean;

  constructor(name: string, store: AnyStore, options: SessionOptions) {
    this.#opts = resolveOptions(name, options);
    if (store === null || typeof store !== 'object') throw new TypeError('a store is required');
    this.name = name;
    this.store = store;
    this.#client = isCookieStore(store) ? store : null;
    this.#server = this.#client === null ? (store as SessionStore) : null;
    this.#signer = codec.createSigner(this.#opts.secrets);
    this.#validId = this.#opts.genid ? isValidCustomId : isValidId;
  }

  /** Resolved cookie options (defaults applied). */
  get cookie(): ResolvedCookieOptions {
    return this.#opts.cookie;
  }

  #newId(): string {
    const genid = this.#opts.genid;
    if (genid === undefined) return generateId();
    const id = genid();
    if (typeof id !== 'string' || !isValidCustomId(id)) throw new TypeError('genid() must return 1..255 visible ASCII characters');
    return id;
  }

  #fresh(hadCookie: boolean, parts = 0): Session<Data> {
    return new Session<Data>(this, this.#newId(), true, null, {}, Date.now(), hadCookie, parts);
  }

  /**
   * Loads the session named `this.name` from a raw Cookie header. Bad input
   * (no cookie, forged, truncated, unknown or expired id) gives a fresh
   * session; only a store failure rejects.
   */
  load(cookieHeader: string | undefined): MaybePromise<Session<Data>> {
    if (this.#client !== null) return this.#loadClient(this.#client, cookieHeader);
    if (cookieHeader === undefined || cookieHeader.length === 0) return this.#fresh(false);
    const id = this.#signer.extract(cookieHeader, this.name);
    // The id is untrusted until the store knows it: check its shape before any lookup.
    if (id === null || !this.#validId(id)) return this.#fresh(false);
    let record: MaybePromise<Uint8Array | DecodedRecord | null>;
    try {
      record = this.#server!.get(id);
    } catch (err) {
      return Promise.reject(err);
    }
    if (isPromise(record)) return record.then((r) => this.#fromRecord(id, r));
    return this.#fromRecord(id, record);
  }

  #loadClient(store: CookieSessionStore, header: string | undefined): Session<Data> {
    if (header === undefined || header.length === 0) return this.#fresh(false);
    const now = Date.now();
    let rec: CookieRecord | null;
    try {
      rec = store.read(header, this.name, now);
    } catch {
      rec = null;
    }
    if (rec === null || !this.#validId(rec.id) || this.#pastDeadline(rec.createdAt, now)) return this.#fresh(true, rec?.parts ?? 0);
    return new Session<Data>(this, rec.id, false, null, rec.data, rec.createdAt, true, rec.parts);
  }

  #pastDeadline(createdAt: number, now: number): boolean {
    const limit = this.#opts.absoluteTimeout;
    return limit !== undefined && createdAt + limit <= now;
  }

  #fromRecord(id: string, record: Uint8Array | DecodedRecord | null): Session<Data> {
    if (record === null) return this.#fresh(true);
    const now = Date.now();
    if (record instanceof Uint8Array) {
      const frame = codec.unframe(record);
      if (frame === null || (frame.expiresAt !== 0 && frame.expiresAt <= now) || this.#pastDeadline(frame.createdAt, now)) {
        return this.#fresh(true);
      }
      return new Session<Data>(this, id, false, frame.body, null, frame.createdAt, true);
    }
    if ((record.expiresAt !== 0 && record.expiresAt <= now) || this.#pastDeadline(record.createdAt, now)) return this.#fresh(true);
    return new Session<Data>(this, id, false, null, record.data, record.createdAt, true);
  }

  /**
   * Decides what a session's response needs and starts the store write.
   * The Set-Cookie values are known synchronously, so an adapter whose
   * headers must go out now (a streamed response) can send them at once.
   * Repeated calls without changes in between do nothing.
   */
  prepare(session: Session<Data>): Prepared {
    if (session._committed) return DONE;
    session._committed = true;
    const o = session._cookie ?? this.#opts.cookie;
    const now = Date.now();
    const maxAge = o.maxAge;
    let ttl = maxAge ?? this.#opts.ttl;
    const limit = this.#opts.absoluteTimeout;
    if (limit !== undefined) ttl = Math.min(ttl, session._createdAt + limit - now);
    if ((maxAge !== undefined && maxAge < 0) || ttl <= 0 || (session._destroyed && !session._modified)) {
      return this.#remove(session, o);
    }
    if (session._modified) {
      session._destroyed = false;
      return this.#write(session, o, now, ttl);
    }
    if (this.#opts.rolling && !session._isNew) {
      if (this.#client !== null) return this.#write(session, o, now, ttl);
      const cookieExpiry = maxAge === undefined ? undefined : now + ttl;
      const headers = [serializeCookie(this.name, this.#signedValue(session._id), o, cookieExpiry, true)];
      return { headers, write: this.#server!.touch(session._id, ttl) };
    }
    return DONE;
  }

  /** `prepare`, then wait for the store: resolves to the Set-Cookie values to send. */
  commit(session: Session<Data>): MaybePromise<readonly string[]> {
    let p: Prepared;
    try {
      p = this.prepare(session);
    } catch (err) {
      return Promise.reject(err);
    }
    return isPromise(p.write) ? p.write.then(() => p.headers) : p.headers;
  }

  #signedValue(id: string): string {
    // express-session writes encodeURIComponent('s:' + sign(id)); byte-identical
    // cookies. Our own ids are base64url, so the codec builds the escaped value
    // in one step; custom ids may need a full encodeURIComponent.
    if (this.#opts.genid !== undefined) return encodeURIComponent('s:' + this.#signer.sign(id));
    return this.#signer.signCookie(id);
  }

  #write(session: Session<Data>, o: ResolvedCookieOptions, now: number, ttl: number): Prepared {
    const data = session._values();
    const createdAt = session._createdAt;
    const limit = this.#opts.absoluteTimeout;
    const deadline = limit === undefined ? 0 : createdAt + limit;
    const cookieExpiry = o.maxAge === undefined ? undefined : now + ttl;
    let headers: readonly string[];
    let write: MaybePromise<void>;
    if (this.#client !== null) {
      // The cookie is the only copy: its sealed expiry must always be set.
      let pairs: Array<[string, string]>;
      try {
        pairs = this.#client.write(this.name, session._id, data, now + ttl, createdAt);
      } catch (err) {
        // Not written (too large, not encodable): like an unacknowledged store
        // write, the next commit must try again instead of finding nothing to do.
        session._committed = false;
        throw err;
      }
      const out: string[] = [];
      for (const [name, value] of pairs) out.push(serializeCookie(name, value, o, cookieExpiry));
      if (session._parts > pairs.length) {
        for (const name of this.#client.names(this.name, session._parts).slice(pairs.length)) out.push(clearCookie(name, o));
      }
      session._parts = pairs.length;
      headers = out;
      write = undefined;
    } else {
      // Under `rolling` a touch extends the store's TTL without rewriting the
      // frame, so the frame's hard expiry can only be the absolute deadline.
      const hard = this.#opts.rolling ? deadline : deadline === 0 ? now + ttl : Math.min(deadline, now + ttl);
      const record = codec.frame(encodeData(data), hard, createdAt);
      // The browser already holds this exact cookie unless the id is new, its
      // expiry moves (maxAge), or its attributes changed: then say nothing.
      const resend = session._isNew || cookieExpiry !== undefined || session._cookie !== null || this.#opts.rolling;
      headers = resend ? [serializeCookie(this.name, this.#signedValue(session._id), o, cookieExpiry, true)] : NONE;
      write = this.#server!.set(session._id, record, ttl);
    }
    const wasNew = session._isNew;
    markClean(session);
    session._isNew = false;
    if (isPromise(write)) {
      write = write.catch((err: unknown) => {
        // Not acknowledged: the next commit must try again.
        session._isNew = wasNew;
        session._modified = true;
        session._committed = false;
        throw err;
      });
    }
    return { headers, write };
  }

  #remove(session: Session<Data>, o: ResolvedCookieOptions): Prepared {
    const id = session._id;
    const stored = !session._isNew;
    const hadCookie = session._hadCookie || session._destroyed || stored;
    const headers: string[] = [];
    if (hadCookie) {
      if (this.#client !== null) {
        for (const name of this.#client.names(this.name, Math.max(1, session._parts))) headers.push(clearCookie(name, o));
      } else {
        headers.push(clearCookie(this.name, o));
      }
    }
    const write = stored && this.#server !== null ? this.#server.destroy(id) : undefined;
    resetEmpty(session, this.#newId());
    session._destroyed = false;
    session._committed = true;
    return { headers, write };
  }

  /** @internal Session.save(): commit now and hand the cookie to the adapter at once. */
  async save(session: Session<Data>): Promise<void> {
    session._committed = false;
    const headers = await this.commit(session);
    if (headers.length === 0) return;
    if (session._sink !== null) session._sink(headers);
    else session._pending = session._pending === null ? [...headers] : [...session._pending, ...headers];
  }

  /** @internal Session.regenerate(). */
  async regenerate(session: Session<Data>): Promise<void> {
    session._values();
    const old = session._id;
    const stored = !session._isNew;
    session._id = this.#newId();
    session._isNew = true;
    session._destroyed = false;
    session._touch();
    if (stored && this.#server !== null) await this.#server.destroy(old);
  }

  /** @internal Session.destroy(). */
  async destroy(session: Session<Data>): Promise<void> {
    const old = session._id;
    const stored = !session._isNew;
    resetEmpty(session, this.#newId());
    session._destroyed = true;
    session._committed = false;
    if (stored && this.#server !== null) await this.#server.destroy(old);
  }

  /** @internal Session.options(). */
  cookieOptions(session: Session<Data>, input: CookieOptions): ResolvedCookieOptions {
    return resolveCookieOptions(this.name, input, session._cookie ?? this.#opts.cookie);
  }

  /** Set-Cookie values produced by explicit saves that no adapter consumed yet (then forgotten). */
  takePending(session: Session<Data>): readonly string[] {
    const p = session._pending;
    session._pending = null;
    return p ?? NONE;
  }
}

function markClean(session: Session<any>): void {
  session._modified = false;
  session._changed = null;
  session._deleted = null;
  session._cleared = false;
}

function resetEmpty(session: Session<any>, id: string): void {
  session._id = id;
  session._isNew = true;
  session._body = null;
  session._data = {};
  session._createdAt = Date.now();
  markClean(session);
}
