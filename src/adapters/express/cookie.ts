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

// The grammar of the `cookie` package 0.7 (RFC 6265 4.1.1), which
// express-session serializes with: same checks, same errors, same bytes.
const NAME_RE = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const DOMAIN_RE = /^([.]?[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)([.][a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i;
const PATH_RE = /^[\u0020-\u003A\u003D-\u007E]*$/;

/**
 * Builds a Set-Cookie value byte-identical to `cookie.serialize(name, val, opt)`
 * of the `cookie` package 0.7 with its default percent-encoding. Throws the
 * same TypeErrors on an invalid attribute.
 */
export function serializeSetCookie(name: string, val: string, opt: CookieData): string {
  if (name !== lastName) {
    if (!NAME_RE.test(name)) throw new TypeError('argument name is invalid');
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

/** The `; Attr=...` tail, for a value already encoded and validated. */
export function attributes(opt: CookieData): string {
  let str = '';
  if (opt.maxAge != null) {
    const maxAge = Math.floor(opt.maxAge as number);
    if (!isFinite(maxAge)) throw new TypeError('option maxAge is invalid');
    str += '; Max-Age=' + maxAge;
  }
  if (opt.domain) {
    if (opt.domain !== lastDomain) {
      if (!DOMAIN_RE.test(opt.domain as string)) throw new TypeError('option domain is invalid');
      lastDomain = opt.domain as string;
    }
    str += '; Domain=' + opt.domain;
  }
  if (opt.path) {
    if (opt.path !== lastPath) {
      if (!PATH_RE.test(opt.path as string)) throw new TypeError('option path is invalid');
      lastPath = opt.path as string;
    }
    str += '; Path=' + opt.path;
  }
  if (opt.expires) {
    const e = opt.expires as unknown;
    if (!(e instanceof Date) || isNaN(e.valueOf())) throw new TypeError('option expires is invalid');
    str += '; Expires=' + e.toUTCString();
  }
  if (opt.httpOnly) str += '; HttpOnly';
  if (opt.secure) str += '; Secure';
  if (opt.partitioned) str += '; Partitioned';
  if (opt.priority) {
    const p = typeof opt.priority === 'string' ? opt.priority.toLowerCase() : opt.priority;
    if (p === 'low') str += '; Priority=Low';
    else if (p === 'medium') str += '; Priority=Medium';
    else if (p === 'high') str += '; Priority=High';
    else throw new TypeError('option priority is invalid');
  }
  if (opt.sameSite) {
    const s = typeof opt.sameSite === 'string' ? opt.sameSite.toLowerCase() : opt.sameSite;
    if (s === true || s === 'strict') str += '; SameSite=Strict';
    else if (s === 'lax') str += '; SameSite=Lax';
    else if (s === 'none') str += '; SameSite=None';
    else throw new TypeError('option sameSite is invalid');
  }
  return str;
}
