import { codec } from '../../codec';
import type { Signer } from '../../codec/types';
import { generateId } from '../../core/id';
import { optionsError } from '../../errors';
import type { SessionStore } from '../../stores/types';
import { HotsessionExpressStore, isHotsessionStore, toExpressStore } from './bridge';
import { Cookie, type CookieOptions } from './cookie';
import { MemoryStore } from './memory-store';
import { Session, type SessionRequest } from './session';
import type { ConnectStore, Store } from './store';
import { ExpressUsers } from './users';
import type { UsersOptions } from '../../core/users';

/** Connect-style `next`. */
export type Next = (err?: unknown) => void;

/** Options of `session()`: express-session 1.19's, plus two for hotsession stores. */
export interface SessionOptions {
  /** Cookie settings, or a function of the request returning them. @default { path: '/', httpOnly: true, maxAge: null } */
  cookie?: CookieOptions | ((req: any) => CookieOptions);
  /** Session id generator, called with the request. @default 24 random bytes, base64url (as uid-safe) */
  genid?: (req: any) => string;
  /** Cookie name. @default 'connect.sid' */
  name?: string;
  /** @deprecated use `name`. */
  key?: string;
  /**
   * Trust X-Forwarded-Proto (true), never trust it (false), or follow
   * Express's `trust proxy` through `req.secure` (undefined).
   * @default undefined
   */
  proxy?: boolean;
  /** Save unmodified sessions too. express-session's default (with a deprecation) is true. @default true */
  resave?: boolean;
  /** Send the cookie on every response, resetting its expiry. @default false */
  rolling?: boolean;
  /** Save new sessions nobody wrote to. express-session's default (with a deprecation) is true. @default true */
  saveUninitialized?: boolean;
  /** Signing secret(s): the first signs, all verify. Without it, `req.secret` (cookie-parser) is used. */
  secret?: string | Buffer | Array<string | Buffer>;
  /** An express-session store, or a hotsession SessionStore (wrapped by `toExpressStore`). @default new MemoryStore() */
  store?: Store | ConnectStore | SessionStore;
  /** What `req.session = null` / `delete req.session` does to the stored session. @default 'keep' */
  unset?: 'destroy' | 'keep';
  /** Body encoding when `store` is a hotsession store (see `ExpressStoreOptions`). @default 'json' */
  serializer?: 'json' | 'msgpack';
  /** Store lifetime (ms) of browser-session cookies when `store` is a hotsession store or the default `MemoryStore`. @default 86_400_000 */
  ttl?: number;
  /** Users' sessions (`login(req, userId)`, `middleware.manager`) when `store` is a hotsession store with a per-user index, or the default `MemoryStore`. */
  users?: UsersOptions;
}

const warned = new Set<string>();

/** express-session's deprecation notices for options left to their legacy defaults, once per process. */
function deprecate(code: string, message: string): void {
  if (warned.has(code)) return;
  warned.add(code);
  process.emitWarning(message, { type: 'DeprecationWarning', code });
}

// Signers for `req.secret` fallbacks, which change per request only in odd apps: a few suffice.
const requestSigners = new Map<string, Signer>();

/** Everything a `session()` middleware decided once, at construction. */
export class Config {
  readonly name: string;
  readonly store: Store;
  readonly cookie: CookieOptions | ((req: any) => CookieOptions);
  readonly genid: (req: any) => string;
  readonly proxy: boolean | undefined;
  readonly resave: boolean;
  readonly rolling: boolean;
  readonly saveUninitialized: boolean;
  readonly unsetDestroy: boolean;
  /** Signer of the `secret` option; null when `req.secret` must be used. */
  readonly signer: Signer | null;
  readonly storeTouches: boolean;
  /**
   * The store is a hotsession store (bridged): its errors carry status 503,
   * and a save that failed before anything was sent answers through the
   * error path. Connect-style stores keep express-session's behaviour (the
   * response completes, the error follows).
   */
  readonly answersStoreErrors: boolean;
  /** The store's timeout when it is a hotsession store with one: each request's store-time budget (core/budget.ts). */
  readonly budget: number | undefined;
  /** Users' sessions: null unless the store is a hotsession store. */
  readonly users: ExpressUsers | null;
  ready = true;

  constructor(options: SessionOptions | undefined) {
    const opts = options || {};
    this.cookie = opts.cookie || {};
    const genid = opts.genid || generateId;
    if (typeof genid !== 'function') throw new TypeError('genid option must be a function');
    this.genid = genid;
    this.name = opts.name || opts.key || 'connect.sid';
    const store = opts.store || new MemoryStore(opts.ttl === undefined ? {} : { ttl: opts.ttl });
    if ((store as { kind?: unknown }).kind === 'cookie') {
      throw optionsError('hotsession cookie stores keep the session in the cookie, which express-session apps do not expect: use hotsession/http or hotsession/uws with them');
    }
    this.store = isHotsessionStore(store) ? toExpressStore(store, { serializer: opts.serializer, ttl: opts.ttl, cookie: typeof opts.cookie === 'object' ? opts.cookie : undefined, name: this.name }) : (store as unknown as Store);
    this.proxy = opts.proxy;
    if (opts.resave === undefined) deprecate('HOTSESSION_DEP_RESAVE', 'session(): undefined resave option; provide resave option (defaults to true, as in express-session)');
    if (opts.saveUninitialized === undefined) {
      deprecate('HOTSESSION_DEP_SAVE_UNINITIALIZED', 'session(): undefined saveUninitialized option; provide saveUninitialized option (defaults to true, as in express-session)');
    }
    this.resave = opts.resave === undefined ? true : Boolean(opts.resave);
    this.rolling = Boolean(opts.rolling);
    this.saveUninitialized = opts.saveUninitialized === undefined ? true : Boolean(opts.saveUninitialized);
    if (opts.unset && opts.unset !== 'destroy' && opts.unset !== 'keep') throw new TypeError('unset option must be "destroy" or "keep"');
    this.unsetDestroy = opts.unset === 'destroy';
    const secret = opts.secret;
    if (Array.isArray(secret) && secret.length === 0) throw new TypeError('secret option array must contain one or more strings');
    if (!secret) deprecate('HOTSESSION_DEP_SECRET', "session(): no secret option; cookie-parser's req.secret is used instead");
    this.signer = secret ? codec.createSigner(Array.isArray(secret) ? secret : [secret]) : null;
    this.storeTouches = typeof this.store.touch === 'function';
    if (this.store instanceof HotsessionExpressStore) this.store.adopt(this.name);
    this.answersStoreErrors = this.store instanceof HotsessionExpressStore && this.store.answersErrors;
    // Under the records' name, not necessarily this middleware's (one MemoryStore shared by two cookie names keeps the first).
    this.users = this.store instanceof HotsessionExpressStore ? new ExpressUsers(this.store, this.store.recordName, opts.users) : null;
    this.budget = this.store instanceof HotsessionExpressStore ? this.store.store.timeout : undefined;
    // login(req) and Session#destroy find the users' side through req.sessionStore.
    if (this.store instanceof HotsessionExpressStore) this.store.accounts = this.users;

    // Stores regenerate sessions through `store.generate`, as with express-session.
    this.store.generate = (req) => this.generate(req);
    this.store.on('disconnect', () => {
      this.ready = false;
    });
    this.store.on('connect', () => {
      this.ready = true;
    });
  }

  /** Puts a new session with a new id on `req`. */
  generate(req: SessionRequest): void {
    req.sessionID = this.genid(req);
    const session = new Session(req);
    const options = this.cookie;
    session.cookie = new Cookie(typeof options === 'function' ? options(req) : options);
    req.session = session;
    // 'auto' is read from the option object itself, as express-session does.
    const o = options as CookieOptions;
    if (o.secure === 'auto' || o.sameSite === 'auto') {
      const secure = this.isSecure(req);
      if (o.secure === 'auto') session.cookie.secure = secure;
      if (o.sameSite === 'auto') session.cookie.sameSite = secure ? 'none' : 'lax';
    }
  }

  /** The request came over TLS, or through a trusted proxy that says so. */
  isSecure(req: SessionRequest): boolean {
    if (req.socket?.encrypted || req.connection?.encrypted) return true;
    const proxy = this.proxy;
    if (proxy === false) return false;
    if (proxy !== true) return req.secure === true;
    const header = String(req.headers?.['x-forwarded-proto'] || '');
    const comma = header.indexOf(',');
    return (comma === -1 ? header : header.slice(0, comma)).trim().toLowerCase() === 'https';
  }

  /** The signer for this request (`secret`, or else cookie-parser's `req.secret`); null when there is none. */
  signerFor(req: SessionRequest): Signer | null {
    if (this.signer !== null) return this.signer;
    const secret = req.secret;
    if (!secret) return null;
    const key = String(secret);
    let signer = requestSigners.get(key);
    if (signer === undefined) {
      signer = codec.createSigner([secret]);
      if (requestSigners.size >= 16) requestSigners.clear();
      requestSigners.set(key, signer);
    }
    return signer;
  }
}
