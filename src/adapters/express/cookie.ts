import { formatAttributes, isCookieDomain, isCookieName, isCookiePath } from '../../core/cookie';

/**
 * The express-session `Cookie`: the session's cookie settings, stored with
 * the session (its JSON form is `data`) and serialized into Set-Cookie.
 * Same fields, accessors and quirks as express-session 1.19 so stores and
 * apps that read `req.session.cookie` see no difference.
 */

/** Cookie settings accepted by `session({ cookie })` and `new Cookie()`. */
export interface CookieOptions {
  /** @default '/' */
  path?: string;
  /** Lifetime in ms (sets `expires`). @default null (browser-session cookie) */
  maxAge?: number | null;
  /** Absolute expiry; prefer `maxAge`. @default null */
  expires?: Date | null;
  /** @default true */
  httpOnly?: boolean;
  /** `'auto'` follows the connection (see the `proxy` option). @default undefined */
  secure?: boolean | 'auto';
  /** @default undefined (host-only) */
  domain?: string;
  /** `true` means Strict; `'auto'` is None over https and Lax otherwise. @default undefined */
  sameSite?: boolean | 'lax' | 'strict' | 'none' | 'auto';
  /** @default undefined */
  partitioned?: boolean;
  /** @default undefined */
  priority?: 'low' | 'medium' | 'high';
  [key: string]: unknown;
}

/** What `cookie.data` holds: the JSON form of a cookie, also the serializer's input. */
export interface CookieData {
  originalMaxAge: number | null | undefined;
  partitioned: unknown;
  priority: unknown;
  expires: Date | null | undefined;
  secure: unknown;
  httpOnly: unknown;
  domain: unknown;
  path: unknown;
  sameSite: unknown;
  maxAge?: unknown;
}

/**
 * A session cookie. `maxAge` is derived from `expires` on every read (it
 * counts down); `originalMaxAge` remembers the lifetime the cookie was given,
 * which `session.touch()` restores.
 */
export class Cookie {
  declare path: string;
  declare httpOnly: boolean;
  declare _expires: Date | null | undefined;
  declare originalMaxAge: number | null | undefined;
  declare secure: boolean | 'auto' | undefined;
  declare domain: string | undefined;
  declare sameSite: boolean | string | undefined;
  declare partitioned: boolean | undefined;
  declare priority: string | undefined;
  [key: string]: unknown;

  constructor(options?: CookieOptions | Cookie | null) {
    this.path = '/';
    this.maxAge = null;
    this.httpOnly = true;
    if (options) {
      if (typeof options !== 'object') throw new TypeError('argument options must be a object');
      // Plain assignment on purpose: `expires` and `maxAge` go through their setters.
      for (const key in options) {
        if (key !== 'data') this[key] = (options as Record<string, unknown>)[key];
      }
    }
    if (this.originalMaxAge === undefined || this.originalMaxAge === null) this.originalMaxAge = this.maxAge;
  }

  /** Absolute expiry; setting it also resets `originalMaxAge` to the new remaining lifetime. */
  get expires(): Date | null | undefined {
    return this._expires;
  }

  set expires(date: Date | null | undefined) {
    this._expires = date;
    this.originalMaxAge = this.maxAge;
  }

  /** Remaining lifetime in ms (null for a browser-session cookie). Setting it moves `expires`. */
  get maxAge(): number | null | undefined {
    const e = this._expires;
    return e instanceof Date ? e.valueOf() - Date.now() : (e as null | undefined);
  }

  set maxAge(ms: number | Date | null | undefined) {
    if (ms && typeof ms !== 'number' && !(ms instanceof Date)) throw new TypeError('maxAge must be a number or Date');
    this.expires = typeof ms === 'number' ? new Date(Date.now() + ms) : (ms as Date | null | undefined);
  }

  /** The serializable settings (what `toJSON` returns and the Set-Cookie is built from). */
  get data(): CookieData {
    return {
      originalMaxAge: this.originalMaxAge,
      partitioned: this.partitioned,
      priority: this.priority,
      expires: this._expires,
      secure: this.secure,
      httpOnly: this.httpOnly,
      domain: this.domain,
      path: this.path,
      sameSite: this.sameSite,
    };
  }

  /** A Set-Cookie value for `name=val` with these settings (`val` is percent-encoded). */
  serialize(name: string, val: string): string {
    return serializeSetCookie(name, val, this.data);
  }

  toJSON(): CookieData {
    return this.data;
  }
}

/**
 * Builds a Set-Cookie value byte-identical to `cookie.serialize(name, val, opt)`
 * of the `cookie` package 0.7 with its default percent-encoding: the core's
 * grammar and formatter, with the `cookie` package's TypeErrors.
 */
export function serializeSetCookie(name: string, val: string, opt: CookieData): string {
  if (name !== lastName) {
    if (!isCookieName(name)) throw new TypeError('argument name is invalid');
    lastName = name;
  }
  // encodeURIComponent only emits [A-Za-z0-9] and -_.!~*'()% , all of them
  // cookie-octets: the `cookie` package's value check cannot fail on its output.
  return name + '=' + encodeURIComponent(val) + attributes(opt);
}

// One-entry caches of the last valid name, domain and path: a middleware
// serializes the same ones on every response.
let lastName = '';
let lastDomain = '';
let lastPath = '';

/**
 * The `; Attr=...` tail, for a value already encoded and validated: the
 * loose inputs express-session accepts (`sameSite: true`, any-case strings,
 * truthy flags) normalized for the core's formatter.
 */
export function attributes(opt: CookieData): string {
  let maxAge: number | undefined;
  if (opt.maxAge != null) {
    maxAge = Math.floor(opt.maxAge as number);
    if (!isFinite(maxAge)) throw new TypeError('option maxAge is invalid');
  }
  const domain = opt.domain ? (opt.domain as string) : undefined;
  if (domain !== undefined && domain !== lastDomain) {
    if (!isCookieDomain(domain)) throw new TypeError('option domain is invalid');
    lastDomain = domain;
  }
  const path = opt.path ? (opt.path as string) : undefined;
  if (path !== undefined && path !== lastPath) {
    if (!isCookiePath(path)) throw new TypeError('option path is invalid');
    lastPath = path;
  }
  let expires: Date | undefined;
  if (opt.expires) {
    const e = opt.expires as unknown;
    if (!(e instanceof Date) || isNaN(e.valueOf())) throw new TypeError('option expires is invalid');
    expires = e;
  }
  let priority: 'low' | 'medium' | 'high' | undefined;
  if (opt.priority) {
    const p = typeof opt.priority === 'string' ? opt.priority.toLowerCase() : opt.priority;
    if (p !== 'low' && p !== 'medium' && p !== 'high') throw new TypeError('option priority is invalid');
    priority = p;
  }
  let sameSite: 'strict' | 'lax' | 'none' | undefined;
  if (opt.sameSite) {
    const s = typeof opt.sameSite === 'string' ? opt.sameSite.toLowerCase() : opt.sameSite;
    if (s === true) sameSite = 'strict';
    else if (s === 'strict' || s === 'lax' || s === 'none') sameSite = s;
    else throw new TypeError('option sameSite is invalid');
  }
  return formatAttributes({
    maxAge,
    domain,
    path,
    expires,
    httpOnly: Boolean(opt.httpOnly),
    secure: Boolean(opt.secure),
    partitioned: Boolean(opt.partitioned),
    priority,
    sameSite,
  });
}
