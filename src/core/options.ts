import { optionsError } from '../errors';
import type { UsersOptions } from './users';
import { assertCookieName, MAX_LIFETIME, resolveCookieOptions, type CookieOptions, type ResolvedCookieOptions } from './cookie';

/** Options shared by every adapter and the manager. */
export interface SessionOptions {
  /**
   * Secret(s) for the cookie signature. With a list, the first signs and
   * every one verifies, so a new secret can be prepended without logging anyone out.
   */
  secret: string | readonly string[];
  /** Session cookie attributes. */
  cookie?: CookieOptions;
  /**
   * Re-send the cookie and extend the record's lifetime on every request,
   * even when nothing changed (one `touch` per request).
   * @default false
   */
  rolling?: boolean;
  /**
   * End a session this many milliseconds after its creation, whatever its
   * activity (at most 8e15). Under `rolling`, the cookie's Max-Age and the
   * store TTL never reach past this deadline.
   * @default undefined (no absolute limit)
   */
  absoluteTimeout?: number;
  /**
   * Server-side lifetime (ms) of a record whose cookie has no maxAge
   * (a browser-session cookie). The record must expire some time. At most 8e15.
   * @default 86_400_000 (one day)
   */
  ttl?: number;
  /**
   * How long (ms) the old id of a regenerated session (a login) keeps
   * forwarding to the new one. Requests of the session that were already
   * in flight when `regenerate()` ran (other tabs, XHRs, a long poll) keep
   * their writes: they reach the new session instead of being lost. A
   * request that loads the old id during the window gets a fresh session,
   * never the new one (the old id is no credential for it).
   *
   * The risk it takes: during the window, a request that loaded the old id
   * *before* the login can still write keys into the new, logged-in
   * session (it cannot read it, nor learn its id). With a fixated id, an
   * attacker holding such a request open could plant values in the
   * victim's session until the window ends. Shorten it when writes from
   * before a login must never reach the logged-in session; 0 is not
   * allowed (use 1 to forward only what lands at once).
   * @default 10_000 (10 s: longer than a request should take)
   */
  regenerateGrace?: number;
  /**
   * Session id generator. Ids it returns must be 1..255 visible ASCII characters.
   * @default 24 random bytes, base64url
   */
  genid?: () => string;
  /** Users' sessions: the per-user bound and the lastSeenAt resolution (see `session.login()`). */
  users?: UsersOptions;
}

/** @internal Options after validation and defaults. */
export interface ResolvedOptions {
  secrets: readonly string[];
  cookie: ResolvedCookieOptions;
  rolling: boolean;
  absoluteTimeout: number | undefined;
  ttl: number;
  regenerateGrace: number;
  genid: (() => string) | undefined;
}

function lifetime(v: number | undefined, fallback: number, name: string): number {
  const n = v ?? fallback;
  if (typeof n !== 'number' || !Number.isFinite(n) || n <= 0 || n > MAX_LIFETIME) throw optionsError(`${name} must be a positive number of ms, at most ${MAX_LIFETIME}`);
  return n;
}

/** @internal Validates once at construction; every problem is a coded error. */
export function resolveOptions(name: string, options: SessionOptions): ResolvedOptions {
  if (options === null || typeof options !== 'object') throw optionsError('options are required (at least { secret })');
  assertCookieName(name);
  const raw = options.secret;
  const secrets = typeof raw === 'string' ? [raw] : Array.isArray(raw) ? [...raw] : [];
  if (secrets.length === 0) throw optionsError('secret is required: a non-empty string or a list of them');
  for (const s of secrets) {
    if (typeof s !== 'string' || s.length === 0) throw optionsError('every secret must be a non-empty string');
  }
  const timeout = options.absoluteTimeout === undefined ? undefined : lifetime(options.absoluteTimeout, 0, 'absoluteTimeout');
  const ttl = lifetime(options.ttl, 86_400_000, 'ttl');
  const regenerateGrace = lifetime(options.regenerateGrace, 10_000, 'regenerateGrace');
  if (options.genid !== undefined && typeof options.genid !== 'function') throw optionsError('genid must be a function');
  return {
    secrets,
    cookie: resolveCookieOptions(name, options.cookie ?? {}),
    rolling: options.rolling === true,
    absoluteTimeout: timeout,
    ttl,
    regenerateGrace,
    genid: options.genid,
  };
}
