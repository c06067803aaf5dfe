import type { ServerResponse } from 'node:http';
import type { Signer } from '../../codec/types';
import { serializeSetCookie } from './cookie';
import { handlerFailure, storeFailure } from './errors';
import { fingerprint } from './json';
import type { Config, Next } from './config';
import { Finisher, type Chunk, type EndFn } from './finisher';
import { createSession, type Session, type SessionRequest, type Tracker } from './session';
import { kTrack } from './symbols';

/** Fingerprint of a session that only holds its cookie. */
const EMPTY = '{}';

/**
 * One request's view of its session: what the browser sent, what the
 * session looked like when loaded and when last saved, and the decisions at
 * response time (express-session's rules, see `shouldSave` and friends).
 */
export class RequestState implements Tracker {
  readonly cfg: Config;
  readonly req: SessionRequest;
  readonly res: ServerResponse;
  readonly next: Next;
  readonly signer: Signer;
  /** The id the request's cookie carried (undefined: none or forged). */
  cookieId: unknown;
  originalId: unknown = undefined;
  originalHash: string | undefined = undefined;
  savedHash: string | undefined = undefined;
  touched = false;
  ended = false;
  /** Fingerprint cache, valid only inside the synchronous part of `end`. */
  memoSession: Session | null = null;
  memoHash = '';
  /** `writeHead` already ran once (the cookie decision is made then, once). */
  headersFired = false;
  /** The response went back to the error path: the patched `end` passes straight through. */
  released = false;
  /** The Set-Cookie line this middleware added, if any. */
  cookieValue: string | undefined = undefined;
  /**
   * Store time left to the request (core/budget.ts: one budget for load
   * and commit); the bridge spends it on the end-of-request write.
   */
  budgetLeft = Infinity;
  /** When the load was sent to a store with a budget (0: none). */
  loadStart = 0;
  readonly end: EndFn;
  readonly writeHead: (this: ServerResponse, ...args: unknown[]) => ServerResponse;

  constructor(cfg: Config, req: SessionRequest, res: ServerResponse, next: Next, signer: Signer) {
    this.cfg = cfg;
    this.req = req;
    this.res = res;
    this.next = next;
    this.signer = signer;
    this.end = res.end as unknown as EndFn;
    this.writeHead = res.writeHead as unknown as (this: ServerResponse, ...args: unknown[]) => ServerResponse;
  }

  hash(sess: Session): string {
    if (this.memoSession === sess) return this.memoHash;
    return fingerprint(sess);
  }

  /** Tracker: a watched session was saved (explicitly, or by `end`, where the memo holds its fingerprint). */
  saved(sess: Session): void {
    this.savedHash = this.hash(sess);
  }

  generate(): void {
    const req = this.req;
    this.cfg.generate(req);
    this.originalId = req.sessionID;
    // A fresh session holds nothing but its cookie.
    this.originalHash = EMPTY;
    req.session![kTrack] = this;
  }

  inflate(sess: Record<string, any>): void {
    const req = this.req;
    const session = createSession(req, sess);
    this.originalId = session.id;
    // The stored object, not the session: a stored key that a method shadows counts as a change.
    this.originalHash = fingerprint(sess);
    if (!this.cfg.resave) this.savedHash = this.originalHash;
    session[kTrack] = this;
  }

  /** Store answer for the id in the cookie. */
  loaded(err: any, sess: Record<string, any> | null | undefined): void {
    if (this.loadStart !== 0) this.budgetLeft = this.cfg.budget! - (Date.now() - this.loadStart);
    if (err && err.code !== 'ENOENT') return this.next(this.cfg.answersStoreErrors ? storeFailure(err) : err);
    try {
      if (err || !sess) this.generate();
      else this.inflate(sess);
    } catch (e) {
      return this.next(e);
    }
    this.next();
  }

  isModified(sess: Session): boolean {
    return this.originalId !== sess.id || this.originalHash !== this.hash(sess);
  }

  isSaved(sess: Session): boolean {
    return this.originalId === sess.id && this.savedHash === this.hash(sess);
  }

  // The decisions below take `req.sessionID` and `req.session` as read once
  // by their caller: a request property costs more to read than a local
  // (under Express, a dictionary lookup: see ../shape.ts).

  shouldDestroy(sid: unknown, sess: Session | null | undefined): boolean {
    return this.cfg.unsetDestroy && Boolean(sid) && sess == null;
  }

  shouldSave(sid: unknown, sess: Session): boolean {
    // No cookie can carry a non-string id.
    if (typeof sid !== 'string') return false;
    return !this.cfg.saveUninitialized && this.savedHash === undefined && this.cookieId !== sid
      ? this.isModified(sess)
      : !this.isSaved(sess);
  }

  shouldTouch(sid: unknown, sess: Session): boolean {
    if (typeof sid !== 'string') return false;
    return this.cookieId === sid && !this.shouldSave(sid, sess);
  }

  shouldSetCookie(sid: unknown, sess: Session): boolean {
    if (typeof sid !== 'string') return false;
    const cfg = this.cfg;
    return this.cookieId !== sid
      ? cfg.saveUninitialized || this.isModified(sess)
      : cfg.rolling || (sess.cookie.expires != null && this.isModified(sess));
  }

  /**
   * Just before the headers go out: set the cookie if the session calls for
   * one. Runs inside `writeHead`, so a throw (a broken session, a cookie that
   * cannot be serialized) goes to `next` instead of out of the caller's write.
   */
  onHeaders(): void {
    try {
      this.#setCookie();
    } catch (err) {
      setImmediate(this.next, err);
    }
  }

  #setCookie(): void {
    const req = this.req;
    const sess = req.session;
    if (!sess) return;
    const sid = req.sessionID;
    if (!this.shouldSetCookie(sid, sess)) return;
    // A secure cookie is only sent over https.
    if (sess.cookie.secure && !this.cfg.isSecure(req)) return;
    if (!this.touched) {
      sess.touch();
      this.touched = true;
    }
    const value = serializeSetCookie(this.cfg.name, 's:' + this.signer.sign(sid as string), sess.cookie.data);
    this.cookieValue = value;
    const res = this.res;
    const prev = res.getHeader('Set-Cookie');
    res.setHeader('Set-Cookie', prev === undefined ? [value] : Array.isArray(prev) ? [...prev, value] : [String(prev), value]);
  }

  /**
   * The patched `res.end`: destroys, saves or touches the session first and
   * ends the response when the store answered (see {@link Finisher}). A
   * throw from that work (a handler replaced `cookie` or `save`, or stored a
   * value JSON cannot walk) answers 500 through the error path: it must not
   * reach the handler, which may have called `end` from a callback with no
   * one to catch it, and it must not leave the socket open.
   */
  onEnd(res: ServerResponse, chunk: unknown, encoding: unknown, callback: unknown): unknown {
    if (this.ended) return this.released ? this.end.call(res, chunk, encoding, callback) : false;
    this.ended = true;
    if (typeof chunk === 'function') {
      callback = chunk;
      chunk = undefined;
    } else if (typeof encoding === 'function') {
      callback = encoding;
      encoding = undefined;
    }
    try {
      return this.#endSession(res, chunk as Chunk, encoding, callback);
    } catch (err) {
      this.memoSession = null;
      this.memoHash = '';
      if (!this.#release(res, handlerFailure(err))) {
        // Part of the response is on the wire: finish it and report the error, as a failed save does.
        setImmediate(this.next, handlerFailure(err));
        return this.end.call(res, chunk, encoding, callback);
      }
      return false;
    }
  }

  #endSession(res: ServerResponse, chunk: Chunk, encoding: unknown, callback: unknown): unknown {
    const end = this.end;
    const req = this.req;
    const cfg = this.cfg;
    const sid = req.sessionID;
    const sess = req.session;
    if (this.shouldDestroy(sid, sess)) {
      const f = new Finisher(end, res, chunk, encoding, callback);
      cfg.store.destroy(sid as string, (err?: unknown) => this.#settled(res, f, err));
      return f.start();
    }
    if (!sess) return end.call(res, chunk, encoding, callback);
    if (!this.touched) {
      sess.touch();
      this.touched = true;
    }
    // A logged-in session's entry in its user's index, once per seenInterval (one property read otherwise).
    if (cfg.users !== null) cfg.users.seen(sid as string, sess as unknown as Record<string, unknown>);
    // Everything below runs synchronously until the store answers: one fingerprint serves every check.
    this.memoSession = sess;
    this.memoHash = fingerprint(sess);
    try {
      // With a hotsession store the cookie is decided before the store call (nothing the store
      // does changes that decision): a cookie that cannot be serialized then answers 500 through
      // the error path, with nothing stored. Connect-style stores keep express-session's order
      // (the decision at writeHead, its error after the response).
      if (cfg.answersStoreErrors && !this.headersFired) {
        this.headersFired = true;
        this.#setCookie();
      }
      if (this.shouldSave(sid, sess)) {
        const f = new Finisher(end, res, chunk, encoding, callback);
        sess.save((err?: unknown) => this.#settled(res, f, err));
        return f.start();
      }
      if (cfg.storeTouches && this.shouldTouch(sid, sess)) {
        const f = new Finisher(end, res, chunk, encoding, callback);
        cfg.store.touch!(sid as string, sess, (err?: unknown) => this.#settled(res, f, err));
        return f.start();
      }
      return end.call(res, chunk, encoding, callback);
    } finally {
      this.memoSession = null;
      this.memoHash = '';
    }
  }

  /**
   * The store answered the end-of-request call. With a hotsession store, a
   * failure before anything was sent answers through the error path (503:
   * the response promised a saved session); a response already streaming,
   * or a connect-style store, completes and the error follows, as in
   * express-session.
   */
  #settled(res: ServerResponse, f: Finisher, err: unknown): void {
    // The error path already owns this response (the end-of-request work threw after the store call).
    if (this.released) return;
    if (err) {
      if (this.cfg.answersStoreErrors) {
        const e = storeFailure(err);
        if (this.#release(res, e)) return;
        setImmediate(this.next, e);
      } else {
        setImmediate(this.next, err);
      }
    }
    f.finish();
  }

  /**
   * Hands an unsent response to the error path with `err`: the held chunk
   * is dropped, the session cookie taken back, and the header block that
   * `end` prepared (never written: the chunk was held) undone, so Express's
   * error handler can answer `err.status`. False when bytes already left.
   */
  #release(res: ServerResponse, err: Error): boolean {
    const r = res as ServerResponse & { _header: unknown; _headerSent: boolean };
    if (r._headerSent || this.released) return false;
    this.released = true;
    // The error response carries no session cookie: the session was never stored.
    this.headersFired = true;
    // Node keeps the prepared header block in `_header` until the first write; clearing it (and the
    // status text writeHead filled in) lets the next writeHead build a new one.
    r._header = null;
    res.statusMessage = '';
    if (this.cookieValue !== undefined) {
      const now = res.getHeader('Set-Cookie');
      if (Array.isArray(now)) {
        const rest = now.filter((v) => v !== this.cookieValue);
        if (rest.length > 0) res.setHeader('Set-Cookie', rest);
        else res.removeHeader('Set-Cookie');
      }
    }
    setImmediate(this.next, err);
    return true;
  }
}
