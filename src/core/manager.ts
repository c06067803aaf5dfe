import { codec } from '../codec';
import { RECORD_HEADER } from '../codec/layout';
import { nameTag } from '../codec/record';
import type { Signer } from '../codec/types';
import { loadClock, tracingCommits, tracingRefusals } from '../diagnostics';
import { codes, HotsessionError, optionsError } from '../errors';
import {
  isCookieStore, type AnyStore, type CookieRecord, type CookieSessionStore, type DecodedRecord, type MaybePromise, type SessionStore,
} from '../stores/types';
import { clearCookie, resolveCookieOptions, serializeCookie, type CookieOptions, type ResolvedCookieOptions } from './cookie';
import { Entries } from './entries';
import { generateId, isValidCustomId, isValidId } from './id';
import { COMMITTED, DESTROYED, FRESH, LOADED, MODIFIED, REGENERATED, REGENERATING, type Phase } from './lifecycle';
import { resolveOptions, type ResolvedOptions, type SessionOptions } from './options';
import { spentWrite, withinBudget } from './budget';
import { readRecord } from './load';
import { regenerateStored, type RegenerateHost } from './regenerate';
import { Session, stateOf, type SessionData } from './session';
import { SessionState } from './state';
import { refused, refusedIfPresent, traceCommit, traceLoad } from './trace';
import { CookieRevocations } from './users-cookie';
import { bindingOf, checkUserId, cleanMeta, USER_KEY, UserSessions, type UserSessionInfo } from './users';
import { commitBytes, PatchJob, tooLarge } from './writes';

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
 *
 * Server-side records are per-key (src/codec/layout.ts): a new session is
 * written whole under its fresh id, an existing one gets a patch of the keys
 * this request changed, which the store applies atomically. Records are
 * bound to the session name (a record written for `cart` is no session for
 * `admin`). Records of the previous format (v1 frames, records of other
 * libraries a store reads) load as they are and are rewritten at their next save.
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
  /** This name's record tag (layout.ts). */
  readonly #tag: number;
  readonly #maxRecord: number | undefined;
  readonly #regen: RegenerateHost | null;
  /** The store's time budget per request (budget.ts); undefined: none. */
  readonly #budget: number | undefined;
  /** Users' sessions (null: the store has no per-user index). */
  readonly #users: UserSessions | null;
  /** Cookie store: where revocations of users' sessions are kept (null: none configured). */
  readonly #revocations: CookieRevocations | null;

  constructor(name: string, store: AnyStore, options: SessionOptions) {
    this.#opts = resolveOptions(name, options);
    if (store === null || typeof store !== 'object') throw new TypeError('a store is required');
    this.name = name;
    this.store = store;
    this.#client = isCookieStore(store) ? store : null;
    this.#server = this.#client === null ? (store as SessionStore) : null;
    const server = this.#server;
    if (server !== null && (typeof server.patch !== 'function' || typeof server.forward !== 'function')) {
      // Without them a commit could only overwrite whole records (losing concurrent writes) and a
      // logout could be undone by a request in flight: refuse now rather than degrade silently.
      throw optionsError('a server-side store needs patch() and forward() (see SessionStore in hotsession); express-session stores go through hotsession/express');
    }
    this.#signer = codec.createSigner(this.#opts.secrets);
    this.#validId = this.#opts.genid ? isValidCustomId : isValidId;
    this.#tag = nameTag(name);
    const max = this.#server?.maxRecordSize;
    if (max !== undefined && (!Number.isInteger(max) || max < RECORD_HEADER)) throw optionsError(`the store's maxRecordSize must be an integer >= ${RECORD_HEADER}`);
    this.#maxRecord = max;
    this.#regen = this.#server === null ? null : this.#regenerateHost(this.#server);
    this.#budget = this.#server?.timeout;
    const index = this.#server?.users;
    const rv = this.#client?.revocations;
    this.#revocations = rv === undefined ? null : new CookieRevocations(rv, Math.max(this.#opts.ttl, this.#opts.cookie.maxAge ?? 0));
    this.#users = index === undefined ? null : new UserSessions(this.#server!, index, this.#tag, this.#opts.absoluteTimeout, options.users);
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

  #fresh(hadCookie: boolean, parts = 0, entries = new Entries()): Session<Data> {
    return new Session<Data>(new SessionState(this, this.#newId(), FRESH, Date.now(), hadCookie, parts, entries));
  }

  #loaded(id: string, entries: Entries, createdAt: number, parts = 0): Session<Data> {
    return new Session<Data>(new SessionState(this, id, LOADED, createdAt, true, parts, entries));
  }

  /**
   * Loads the session named `this.name` from a raw Cookie header. Bad input
   * (no cookie, forged, truncated, unknown or expired id, a record written
   * for another session name, a forwarded id) gives a fresh session; only a
   * store failure rejects.
   */
  load(cookieHeader: string | undefined): MaybePromise<Session<Data>> {
    const t0 = loadClock();
    return t0 === 0 ? this.#load(cookieHeader) : traceLoad(this.name, this.#load(cookieHeader), t0);
  }

  #load(cookieHeader: string | undefined): MaybePromise<Session<Data>> {
    if (this.#client !== null) return this.#loadClient(this.#client, cookieHeader);
    if (cookieHeader === undefined || cookieHeader.length === 0) return this.#fresh(false);
    const id = this.#signer.extract(cookieHeader, this.name);
    // The id is untrusted until the store knows it: check its shape before any lookup.
    if (id === null || !this.#validId(id)) {
      if (tracingRefusals()) {
        if (id === null) refusedIfPresent(this.name, cookieHeader, this.name, 'signature');
        else refused(this.name, 'id');
      }
      return this.#fresh(false);
    }
    let record: MaybePromise<Uint8Array | DecodedRecord | null>;
    try {
      record = this.#server!.get(id);
    } catch (err) {
      return Promise.reject(err);
    }
    if (isPromise(record)) {
      const budget = this.#budget;
      if (budget === undefined) return record.then((r) => this.#fromRecord(id, r));
      const start = Date.now();
      return record.then((r) => {
        const session = this.#fromRecord(id, r);
        stateOf(session).budgetLeft = budget - (Date.now() - start);
        return session;
      });
    }
    return this.#fromRecord(id, record);
  }

  #loadClient(store: CookieSessionStore, header: string | undefined): MaybePromise<Session<Data>> {
    if (header === undefined || header.length === 0) return this.#fresh(false);
    const now = Date.now();
    let rec: CookieRecord | null;
    try {
      rec = store.read(header, this.name, now);
    } catch {
      rec = null;
    }
    if (rec === null || !this.#validId(rec.id) || this.#pastDeadline(rec.createdAt, now)) {
      if (tracingRefusals()) {
        if (rec === null) refusedIfPresent(this.name, header, store.names(this.name, 1)[0]!, 'unsealed');
        else refused(this.name, this.#validId(rec.id) ? 'expired' : 'id');
      }
      return this.#fresh(true, rec?.parts ?? 0);
    }
    const entries = new Entries().loadObject(rec.data, false);
    const session = this.#loaded(rec.id, entries, rec.createdAt, rec.parts);
    const b = this.#revocations === null ? null : bindingOf(entries);
    if (b === null) return session;
    // A logged-in cookie: one read of its user's revocations (anonymous cookies never pay it).
    const parts = rec.parts;
    const revoked = this.#revocations!.revoked(b);
    if (isPromise(revoked)) return revoked.then((r) => (r ? this.#fresh(true, parts) : session));
    return revoked ? this.#fresh(true, parts) : session;
  }

  #pastDeadline(createdAt: number, now: number): boolean {
    const limit = this.#opts.absoluteTimeout;
    return limit !== undefined && createdAt + limit <= now;
  }

  #fromRecord(id: string, record: Uint8Array | DecodedRecord | null): Session<Data> {
    if (record === null) {
      if (tracingRefusals()) refused(this.name, 'unknown');
      return this.#fresh(true);
    }
    const e = new Entries();
    const createdAt = readRecord(e, record, this.#tag, Date.now(), this.#opts.absoluteTimeout);
    if (createdAt < 0) {
      if (tracingRefusals()) refused(this.name, 'record');
      return this.#fresh(true, 0, e);
    }
    return this.#loaded(id, e, createdAt);
  }

  /**
   * Decides what a session's response needs and starts the store write.
   * The Set-Cookie values are known synchronously, so an adapter whose
   * headers must go out now (a streamed response) can send them at once.
   * Repeated calls without changes in between do nothing. Throws what
   * cannot be stored (a coded error: a reserved or unencodable key, a
   * record past the store's maxRecordSize) before anything is sent; the
   * session then stays modified and the stored record as it was.
   */
  prepare(session: Session<Data>): Prepared {
    return this.#prepare(stateOf(session));
  }

  #prepare(s: SessionState): Prepared {
    if (tracingCommits() && s.phase !== COMMITTED) return traceCommit(this.name, s.phase, () => this.#bounded(s));
    return this.#bounded(s);
  }

  #bounded(s: SessionState): Prepared {
    const p = this.#decide(s);
    // The load spent part of this request's store budget: the write gets what is left (budget.ts).
    if (s.budgetLeft === Infinity || s.budgetLeft <= 0 || !isPromise(p.write)) return p;
    return { headers: p.headers, write: withinBudget(this.name, s, p.write, this.#budget) };
  }

  #decide(s: SessionState): Prepared {
    const phase = s.phase;
    if (phase === COMMITTED) return DONE;
    s.assertCommittable();
    const o = s.cookie ?? this.#opts.cookie;
    const now = Date.now();
    const maxAge = o.maxAge;
    const ttl = this.#ttl(s, o, now);
    if ((maxAge !== undefined && maxAge < 0) || ttl <= 0 || phase === DESTROYED) return this.#remove(s, o);
    const seen = this.#users === null ? undefined : this.#users.refresh(s, ttl, now);
    if (seen === undefined) return this.#decidePhase(s, o, phase, now, ttl);
    const p = this.#decidePhase(s, o, phase, now, ttl);
    return { headers: p.headers, write: Promise.all([p.write, seen]).then(() => undefined) };
  }

  #decidePhase(s: SessionState, o: ResolvedCookieOptions, phase: Phase, now: number, ttl: number): Prepared {
    const maxAge = o.maxAge;
    if (phase === MODIFIED) return this.#client !== null ? this.#writeClient(s, o, now, ttl) : this.#writeServer(s, o, now, ttl);
    const cookieExpiry = maxAge === undefined ? undefined : now + ttl;
    if (phase === REGENERATED) {
      // Written under its new id by regenerate(): only the cookie is left to send.
      s.commitOther();
      return { headers: [serializeCookie(this.name, this.#signedValue(s.id), o, cookieExpiry, true)], write: undefined };
    }
    if (this.#opts.rolling && s.stored) {
      if (this.#client !== null) return this.#writeClient(s, o, now, ttl);
      const spent = spentWrite(this.name, s, this.#budget);
      if (spent !== null) return { headers: NONE, write: spent };
      const headers = [serializeCookie(this.name, this.#signedValue(s.id), o, cookieExpiry, true)];
      s.commitOther();
      return { headers, write: this.#server!.touch(s.id, ttl) };
    }
    s.commitOther();
    return DONE;
  }

  /** The store TTL from now: the cookie's maxAge (or `ttl`), never past the absolute deadline. */
  #ttl(s: SessionState, o: ResolvedCookieOptions, now: number): number {
    const ttl = o.maxAge ?? this.#opts.ttl;
    const limit = this.#opts.absoluteTimeout;
    return limit === undefined ? ttl : Math.min(ttl, s.createdAt + limit - now);
  }

  /**
   * A record's hard expiry. Under `rolling` a touch extends the store's TTL
   * without rewriting the record, so the hard expiry can only be the
   * absolute deadline (0: none).
   */
  #hardExpiry(createdAt: number, now: number, ttl: number): number {
    const limit = this.#opts.absoluteTimeout;
    const deadline = limit === undefined ? 0 : createdAt + limit;
    if (this.#opts.rolling) return deadline;
    return deadline === 0 ? now + ttl : Math.min(deadline, now + ttl);
  }

  /** `prepare`, then wait for the store: resolves to the Set-Cookie values to send. */
  commit(session: Session<Data>): MaybePromise<readonly string[]> {
    let s: SessionState;
    try {
      s = stateOf(session);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.#commit(s);
  }

  #commit(s: SessionState): MaybePromise<readonly string[]> {
    let p: Prepared;
    try {
      p = this.#prepare(s);
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

  #checkSize(size: number): void {
    const max = this.#maxRecord;
    if (max !== undefined && size > max) throw tooLarge(size, max);
  }

  /** The whole view of `s` as a RECORD, size-checked. */
  #record(s: SessionState, expiresAt: number): Buffer {
    const bytes = commitBytes(s, true, expiresAt, this.#tag);
    this.#checkSize(bytes.length);
    return bytes;
  }

  #writeServer(s: SessionState, o: ResolvedCookieOptions, now: number, ttl: number): Prepared {
    const store = this.#server!;
    const e = s.entries;
    const createdAt = s.createdAt;
    const expiresAt = this.#hardExpiry(createdAt, now, ttl);
    // A new session is written whole under its fresh id; every other commit is a patch.
    const whole = !s.stored;
    const legacy = e.legacy;
    const bytes = commitBytes(s, whole, expiresAt, this.#tag);
    const size = whole || legacy ? bytes.length : e.estimate(bytes.length);
    this.#checkSize(size);
    const cookieExpiry = o.maxAge === undefined ? undefined : now + ttl;
    // The browser already holds this exact cookie unless the id is new, its
    // expiry moves (maxAge), or its attributes changed: then say nothing.
    const resend = !s.stored || cookieExpiry !== undefined || s.cookie !== null || this.#opts.rolling || s.owesCookie;
    const headers = resend ? [serializeCookie(this.name, this.#signedValue(s.id), o, cookieExpiry, true)] : NONE;
    const id = s.id;
    // What a failed write must put back, kept in locals: the common commit succeeds at once.
    const epoch = s.epoch;
    const wasStored = s.stored;
    const owed = s.owesCookie;
    const clear = e.clearPending;
    // No store time left: fail the commit without sending it (the session stays as it was).
    const spent = spentWrite(this.name, s, this.#budget);
    if (spent !== null) return { headers: NONE, write: spent };
    const writes = s.commitWrite(size);
    let write: MaybePromise<void>;
    try {
      if (whole) {
        write = store.set(id, bytes, ttl);
      } else {
        const outcome = store.patch(id, bytes, ttl);
        // The common answer, a synchronous 'ok' (memory store), needs no job.
        write = outcome === 'ok' ? undefined : new PatchJob(store, s, writes, clear, legacy, id, bytes, ttl, expiresAt, createdAt, this.#tag).run(outcome);
      }
    } catch (err) {
      s.commitFailed(epoch, wasStored, owed, writes, clear, legacy);
      throw err;
    }
    if (isPromise(write)) {
      write = write.catch((err: unknown) => {
        // Not acknowledged: the next commit must try again.
        s.commitFailed(epoch, wasStored, owed, writes, clear, legacy);
        throw err;
      });
    } else if (headers === NONE) {
      return DONE;
    }
    return { headers, write };
  }

  #writeClient(s: SessionState, o: ResolvedCookieOptions, now: number, ttl: number): Prepared {
    const client = this.#client!;
    const cookieExpiry = o.maxAge === undefined ? undefined : now + ttl;
    // The cookie is the only copy: its sealed expiry must always be set. A
    // write that throws (too large, not encodable) leaves the session as it
    // was, so the next commit tries again.
    const pairs = client.write(this.name, s.id, s.entries.toObject(), now + ttl, s.createdAt);
    const headers: string[] = [];
    for (const [name, value] of pairs) headers.push(serializeCookie(name, value, o, cookieExpiry));
    if (s.parts > pairs.length) {
      for (const name of client.names(this.name, s.parts).slice(pairs.length)) headers.push(clearCookie(name, o));
    }
    s.parts = pairs.length;
    if (s.phase === MODIFIED) s.commitWrite(0);
    else s.commitOther();
    return { headers, write: undefined };
  }

  #remove(s: SessionState, o: ResolvedCookieOptions): Prepared {
    const id = s.id;
    const stored = s.stored;
    const hadCookie = s.hadCookie || s.phase === DESTROYED || stored;
    const headers: string[] = [];
    if (hadCookie) {
      if (this.#client !== null) {
        for (const name of this.#client.names(this.name, Math.max(1, s.parts))) headers.push(clearCookie(name, o));
      } else {
        headers.push(clearCookie(this.name, o));
      }
    }
    const spent = stored ? spentWrite(this.name, s, this.#budget) : null;
    if (spent !== null) return { headers: NONE, write: spent };
    const b = stored && this.#users !== null ? bindingOf(s.entries) : null;
    let write = stored && this.#server !== null ? this.#server.destroy(id) : undefined;
    if (b !== null) write = Promise.resolve(write).then(() => this.#users!.unbind(b, id));
    s.removed(this.#newId());
    return { headers, write };
  }

  /** @internal Session.save(): commit now and hand the cookie to the adapter at once. */
  async save(s: SessionState): Promise<void> {
    s.deliver(await this.#commit(s));
  }

  /** @internal Session.regenerate(). */
  async regenerate(s: SessionState): Promise<void> {
    if (this.#client !== null) {
      // Nothing server-side: the cookie is resealed under the new id.
      s.renamed(this.#newId());
      s.change();
      return;
    }
    // Nothing stored under the old id: a new name is all it takes.
    if (!s.stored) return s.renamed(this.#newId());
    const now = Date.now();
    if (this.#ttl(s, s.cookie ?? this.#opts.cookie, now) <= 0) return this.destroy(s);
    const b = this.#users === null ? null : bindingOf(s.entries);
    // A logged-in session's index entry follows it to the new id before the old one is retired.
    await regenerateStored(this.#regen!, s, b === null ? undefined : async (newId, ttl, at) => {
      await this.#users!.put(b, newId, ttl, at);
    });
  }

  /** @internal Session.login(). */
  async login(s: SessionState, userId: string, meta: unknown): Promise<void> {
    checkUserId(userId);
    const m = cleanMeta(meta);
    const e = s.entries;
    const users = this.#users;
    const now = Date.now();
    if (this.#client === null && users === null) {
      throw new HotsessionError(codes.USERS_UNSUPPORTED, 'session.login() needs a store with a per-user index (store.users)');
    }
    if (s.phase === REGENERATING) throw new HotsessionError(codes.SESSION_BUSY, 'login() while regenerate() is still running: await regenerate() first');
    const b = { u: userId, h: UserSessions.newHandle(), c: now, m };
    if (users === null) {
      // Cookie store: the binding travels sealed in the cookie, under a new id.
      e.set(USER_KEY, b);
      s.change();
      s.renamed(this.#newId());
      return;
    }
    try {
      await this.#login(s, users, b, now);
    } catch (err) {
      // A session bound to a user must be listed under it (or it could not be revoked):
      // whatever the failure left behind is ended, and the session goes on anonymous.
      await this.destroy(s).catch(() => undefined);
      throw err;
    }
  }

  async #login(s: SessionState, users: UserSessions, b: { u: string; h: string; c: number; m: Record<string, unknown> | null }, now: number): Promise<void> {
    const e = s.entries;
    const userId = b.u;
    const before = bindingOf(e);
    const wasId = s.id;
    e.set(USER_KEY, b);
    s.change();
    let size = 0;
    if (s.stored) {
      let indexed = '';
      await regenerateStored(this.#regen!, s, async (newId, ttl, at) => {
        indexed = newId;
        size = await users.put(b, newId, ttl, at);
      });
      // A logout won the race with this login: the new id is gone, and so is its entry.
      if (s.id !== indexed && indexed !== '') await users.unbind(b, indexed);
    }
    if (!s.stored) {
      // Written whole first, indexed once it exists (a revocation meanwhile finds nothing to end yet).
      if (s.id === wasId) s.renamed(this.#newId());
      if (bindingOf(e) === null) e.set(USER_KEY, b);
      s.change();
      users.note(s.id, now); // this commit owes no refresh: the entry is written right after it
      await this.save(s);
      size = await users.put(b, s.id, this.#ttl(s, s.cookie ?? this.#opts.cookie, Date.now()), Date.now());
    }
    if (before !== null) await users.unbind(before, wasId);
    await users.bound(userId, b.h, size, Date.now());
  }

  /** @internal Session.userId / Session.handle. */
  binding(s: SessionState): { u: string; h: string } | null {
    return bindingOf(s.entries);
  }

  async #cookieRevocations(): Promise<CookieRevocations> {
    if (this.#revocations === null) throw new HotsessionError(codes.USERS_UNSUPPORTED, 'revoking cookie sessions needs CookieStore({ revocations: <a server store> })');
    return this.#revocations;
  }

  #requireUsers(): UserSessions {
    if (this.#users === null) throw new HotsessionError(codes.USERS_UNSUPPORTED, "this manager's store has no per-user index (store.users)");
    return this.#users;
  }

  /**
   * The live sessions of `userId`, oldest login first: handle, login time,
   * last seen, and the meta `login()` recorded. Never lists a session id.
   */
  sessionsOf(userId: string): Promise<UserSessionInfo[]> {
    if (this.#client !== null) return Promise.reject(new HotsessionError(codes.USERS_UNSUPPORTED, 'a cookie store keeps no list of sessions: sessionsOf() needs a server store'));
    try {
      return this.#requireUsers().list(userId);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * Ends the session of `userId` whose handle is `handle`: its next request
   * is anonymous, and writes of its requests in flight are dropped.
   * Resolves to false when no such session is listed.
   */
  revokeSession(userId: string, handle: string): Promise<boolean> {
    if (this.#client !== null) return this.#cookieRevocations().then((r) => r.revokeSession(userId, handle));
    try {
      return this.#requireUsers().revokeSession(userId, handle);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * Ends every session of `userId` ("log out everywhere"), or every one but
   * `except` (`except: session.handle`: "log out my other devices").
   * Resolves to the number of sessions ended.
   */
  revokeUser(userId: string, options: { except?: string } = {}): Promise<number> {
    if (this.#client !== null) return this.#cookieRevocations().then((r) => r.revokeUser(userId, options.except));
    try {
      return this.#requireUsers().revokeUser(userId, options.except);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  #regenerateHost(store: SessionStore): RegenerateHost {
    return {
      store,
      tag: this.#tag,
      grace: this.#opts.regenerateGrace,
      newId: () => this.#newId(),
      lifetime: (s, now) => {
        const ttl = this.#ttl(s, s.cookie ?? this.#opts.cookie, now);
        return { ttl, expiresAt: this.#hardExpiry(s.createdAt, now, ttl) };
      },
      record: (s, expiresAt) => this.#record(s, expiresAt),
    };
  }

  /** @internal Session.destroy(). */
  async destroy(s: SessionState): Promise<void> {
    const old = s.id;
    const stored = s.stored;
    const b = stored && this.#users !== null ? bindingOf(s.entries) : null;
    s.destroyed(this.#newId());
    if (stored && this.#server !== null) await this.#server.destroy(old);
    if (b !== null) await this.#users!.unbind(b, old);
  }

  /** @internal Session.options(). */
  cookieOptions(s: SessionState, input: CookieOptions): ResolvedCookieOptions {
    return resolveCookieOptions(this.name, input, s.cookie ?? this.#opts.cookie);
  }

  /** Set-Cookie values produced by explicit saves that no adapter consumed yet (then forgotten). */
  takePending(session: Session<Data>): readonly string[] {
    return stateOf(session).takePending() ?? NONE;
  }
}
