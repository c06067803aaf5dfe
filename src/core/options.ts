import { optionsError } from '../errors';
import { assertCookieName, resolveCookieOptions, type CookieOptions, type ResolvedCookieOptions } from './cookie';

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
   * End a session this many milliseconds after its creation, whatever its activity.
   * @default undefined (no absolute limit)
   */
  absoluteTimeout?: number;
  /**
   * Server-side lifetime (ms) of a record whose cookie has no maxAge
   * (a browser-session cookie). The record must expire some time.
   * @default 86_400_000 (one day)
   */
  ttl?: number;
  /**
   * Session id generator. Ids it returns must be 1..255 visible ASCII characters.
   * @default 24 random bytes, base64url
   */
  genid?: () => string;
}

/** @internal Options after validation and defaults. */
export interface ResolvedOptions {
  secrets: readonly string[];
  cookie: ResolvedCookieOptions;
  rolling: boolean;
  absoluteTimeout: number | undefined;
  ttl: number;
  genid: (() => string) | undefined;
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
  const timeout = options.absoluteTimeout;
  if (timeout !== undefined && (!Number.isFinite(timeout) || timeout <= 0)) throw optionsError('absoluteTimeout must be a positive number of ms');
  const ttl = options.ttl ?? 86_400_000;
  if (!Number.isFinite(ttl) || ttl <= 0) throw optionsError('ttl must be a positive number of ms');
  if (options.genid !== undefined && typeof options.genid !== 'function') throw optionsError('genid must be a function');
  return {
    secrets,
    cookie: resolveCookieOptions(name, options.cookie ?? {}),
    rolling: options.rolling === true,
    absoluteTimeout: timeout,
    ttl,
    genid: options.genid,
  };
}
