import { codes, HotsessionError } from '../errors';
import { utcString } from './dates';

/** Attributes of the session cookie. */
export interface CookieOptions {
  /** @default '/' */
  path?: string;
  /** @default undefined (host-only cookie) */
  domain?: string;
  /**
   * Lifetime in milliseconds, at most 8e15 (about 253,000 years). Negative
   * deletes the session now (cookie cleared, record destroyed). Absent: a
   * browser-session cookie.
   * @default undefined
   */
  maxAge?: number;
  /** @default false */
  secure?: boolean;
  /** @default true */
  httpOnly?: boolean;
  /** @default 'lax' */
  sameSite?: 'strict' | 'lax' | 'none' | false;
  /** CHIPS partitioned cookie. @default false */
  partitioned?: boolean;
  /** @default undefined */
  priority?: 'low' | 'medium' | 'high';
}

/** CookieOptions with defaults applied and every field validated. */
export interface ResolvedCookieOptions {
  path: string;
  domain: string | undefined;
  maxAge: number | undefined;
  secure: boolean;
  httpOnly: boolean;
  sameSite: 'strict' | 'lax' | 'none' | false;
  partitioned: boolean;
  priority: 'low' | 'medium' | 'high' | undefined;
}

// RFC 6265 4.1.1: a cookie-name is an RFC 7230 token.
const TOKEN_RE = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// RFC 6265 4.1.1 cookie-octet: no CTLs, whitespace, DQUOTE, comma, semicolon or backslash.
const VALUE_RE = /^[\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]*$/;
// RFC 1034 labels; a leading dot is tolerated as browsers ignore it.
const DOMAIN_RE = /^\.?[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i;
// RFC 6265 path-value (any CHAR except CTLs or ';'), less '<' as the `cookie`
// package that express-session serializes with refuses it too: one rule for
// every adapter, and hotsession/express throws where express-session throws.
const PATH_RE = /^[\x20-\x3a\x3d-\x7e]*$/;

/** Whether `name` is a valid cookie name (an RFC 7230 token). */
export function isCookieName(name: string): boolean {
  return TOKEN_RE.test(name);
}

/** Whether `domain` is a valid Domain attribute (RFC 1034 labels, optional leading dot). */
export function isCookieDomain(domain: string): boolean {
  return DOMAIN_RE.test(domain);
}

/** Whether `path` is a valid Path attribute value (empty allowed; callers decide if it is sent). */
export function isCookiePath(path: string): boolean {
  return PATH_RE.test(path);
}

/**
 * Longest lifetime (ms) a cookie maxAge, a ttl or an absoluteTimeout may
 * have: about 253,000 years. `now + lifetime` must stay a valid Date (an
 * Expires attribute; JavaScript dates end at 8.64e15 ms) and an exact
 * record timestamp (below 2^53) for the process's whole life; anything
 * longer is a mistake that would otherwise surface as `Expires=Invalid
 * Date` or as every save failing.
 */
export const MAX_LIFETIME = 8e15;

function invalid(message: string): HotsessionError {
  return new HotsessionError(codes.COOKIE_INVALID, message);
}

/** Throws unless `name` is a valid cookie name. */
export function assertCookieName(name: string): void {
  if (typeof name !== 'string' || !TOKEN_RE.test(name)) throw invalid(`invalid cookie name ${JSON.stringify(name)}`);
}

/** Merges and validates cookie options; throws a coded error on anything that could inject. */
export function resolveCookieOptions(name: string, input: CookieOptions = {}, base?: ResolvedCookieOptions): ResolvedCookieOptions {
  const o: ResolvedCookieOptions = base
    ? { ...base }
    : { path: '/', domain: undefined, maxAge: undefined, secure: false, httpOnly: true, sameSite: 'lax', partitioned: false, priority: undefined };
  if ('path' in input && input.path !== undefined) {
    if (typeof input.path !== 'string' || input.path === '' || !PATH_RE.test(input.path)) throw invalid(`invalid cookie path ${JSON.stringify(input.path)}`);
    o.path = input.path;
  }
  if ('domain' in input) {
    if (input.domain !== undefined && (typeof input.domain !== 'string' || !DOMAIN_RE.test(input.domain))) {
      throw invalid(`invalid cookie domain ${JSON.stringify(input.domain)}`);
    }
    o.domain = input.domain;
  }
  if ('maxAge' in input) {
    if (input.maxAge !== undefined && (typeof input.maxAge !== 'number' || !Number.isFinite(input.maxAge) || input.maxAge > MAX_LIFETIME)) {
      throw invalid(`cookie maxAge must be a finite number of milliseconds, at most ${MAX_LIFETIME}`);
    }
    o.maxAge = input.maxAge === undefined ? undefined : Math.floor(input.maxAge);
  }
  if (input.secure !== undefined) o.secure = Boolean(input.secure);
  if (input.httpOnly !== undefined) o.httpOnly = Boolean(input.httpOnly);
  if (input.partitioned !== undefined) o.partitioned = Boolean(input.partitioned);
  if (input.sameSite !== undefined) {
    const s = input.sameSite;
    if (s !== false && s !== 'strict' && s !== 'lax' && s !== 'none') throw invalid(`invalid sameSite ${JSON.stringify(s)}`);
    o.sameSite = s;
  }
  if ('priority' in input) {
    const p = input.priority;
    if (p !== undefined && p !== 'low' && p !== 'medium' && p !== 'high') throw invalid(`invalid priority ${JSON.stringify(p)}`);
    o.priority = p;
  }
  if (o.sameSite === 'none' && !o.secure) throw invalid('sameSite "none" requires secure: true (browsers reject it otherwise)');
  if (o.partitioned && !o.secure) throw invalid('partitioned cookies require secure: true');
  if (name.startsWith('__Host-') && (!o.secure || o.path !== '/' || o.domain !== undefined)) {
    throw invalid('a __Host- cookie requires secure: true, path "/" and no domain');
  }
  if (name.startsWith('__Secure-') && !o.secure) throw invalid('a __Secure- cookie requires secure: true');
  return o;
}

const PRIORITY = { low: 'Low', medium: 'Medium', high: 'High' } as const;
const SAME_SITE = { strict: 'Strict', lax: 'Lax', none: 'None' } as const;

// One cached tail per options object: Expires only changes once a second,
// and formatting a date costs more than the rest of the header.
const tails = new WeakMap<ResolvedCookieOptions, { second: number; ttl: number; tail: string }>();

/**
 * The attribute tail (`; Path=/; HttpOnly; ...`) for options and an absolute
 * expiry; computed per response because Expires moves with time.
 */
export function cookieAttributes(o: ResolvedCookieOptions, expiresAt: number | undefined): string {
  if (expiresAt === undefined) {
    const hit = tails.get(o);
    if (hit !== undefined && hit.second === -1) return hit.tail;
    const tail = buildAttributes(o, undefined, 0);
    tails.set(o, { second: -1, ttl: 0, tail });
    return tail;
  }
  const second = Math.floor(expiresAt / 1000);
  // Rounded up: a positive lifetime must never serialize as Max-Age=0 (which deletes).
  const ttl = Math.max(0, Math.ceil((expiresAt - Date.now()) / 1000));
  const hit = tails.get(o);
  if (hit !== undefined && hit.second === second && hit.ttl === ttl) return hit.tail;
  const tail = buildAttributes(o, expiresAt, ttl);
  tails.set(o, { second, ttl, tail });
  return tail;
}

function buildAttributes(o: ResolvedCookieOptions, expiresAt: number | undefined, seconds: number): string {
  const timed = expiresAt !== undefined;
  return formatAttributes({
    maxAge: timed ? seconds : undefined,
    domain: o.domain,
    path: o.path,
    expires: timed ? new Date(expiresAt) : undefined,
    httpOnly: o.httpOnly,
    secure: o.secure,
    partitioned: o.partitioned,
    priority: o.priority,
    sameSite: o.sameSite === false ? undefined : o.sameSite,
  });
}

/** The attributes of one Set-Cookie line, validated and normalized by the caller. */
export interface CookieAttributes {
  /** Whole seconds. */
  maxAge: number | undefined;
  domain: string | undefined;
  /** Empty or undefined: no Path attribute. */
  path: string | undefined;
  expires: Date | undefined;
  httpOnly: boolean;
  secure: boolean;
  partitioned: boolean;
  priority: 'low' | 'medium' | 'high' | undefined;
  sameSite: 'strict' | 'lax' | 'none' | undefined;
}

/**
 * The `; Attr=...` tail of a Set-Cookie line: the library's one cookie
 * formatter, behind the core's cookies and hotsession/express's. Attributes
 * come in the order of the `cookie` package, so hotsession/express's bytes
 * are express-session's.
 */
export function formatAttributes(a: CookieAttributes): string {
  let s = '';
  if (a.maxAge !== undefined) s += '; Max-Age=' + a.maxAge;
  if (a.domain) s += '; Domain=' + a.domain;
  if (a.path) s += '; Path=' + a.path;
  if (a.expires !== undefined) s += '; Expires=' + utcString(a.expires);
  if (a.httpOnly) s += '; HttpOnly';
  if (a.secure) s += '; Secure';
  if (a.partitioned) s += '; Partitioned';
  if (a.priority !== undefined) s += '; Priority=' + PRIORITY[a.priority];
  if (a.sameSite !== undefined) s += '; SameSite=' + SAME_SITE[a.sameSite];
  return s;
}

/** A full Set-Cookie value; the value must already be cookie-safe. */
export function serializeCookie(name: string, value: string, o: ResolvedCookieOptions, expiresAt: number | undefined, trusted = false): string {
  // `trusted`: a value the manager built from percent-encoded parts, valid by construction.
  if (!trusted && !VALUE_RE.test(value)) throw invalid('cookie value contains characters not allowed by RFC 6265');
  return name + '=' + value + cookieAttributes(o, expiresAt);
}

const EPOCH = new Date(0);

/** A Set-Cookie value that makes the browser drop the cookie. */
export function clearCookie(name: string, o: ResolvedCookieOptions): string {
  return name + '=' + formatAttributes({
    maxAge: 0,
    domain: o.domain,
    path: o.path,
    expires: EPOCH,
    httpOnly: o.httpOnly,
    secure: o.secure,
    partitioned: o.partitioned,
    priority: undefined,
    sameSite: o.sameSite === false ? undefined : o.sameSite,
  });
}
