import { optionsError } from '../errors';
import { isCookieStore, type AnyStore } from '../stores/types';

/**
 * The session token in a request header as well as in the cookie (#18.6),
 * for API and mobile clients that keep no cookies.
 *
 * The token is the cookie's value, byte for byte (`s%3A<id>.<signature>`,
 * the same signer and secrets; the unescaped `s:<id>.<signature>` is read
 * too): the adapter hands the manager the Cookie header `<name>=<token>`, so
 * the signature check, the id check and every rule after them are the
 * cookie's own. Which way a response answers:
 *
 * - the request carries the header (`x-session-id: <token>`, or
 *   `Authorization: Bearer <token>`): it is a header client. The header wins
 *   (the Cookie header is not read), and the response carries the token in
 *   the same header when it changes (a new session, regenerate) or an empty
 *   value when the session ended (destroy, expiry): drop the token. Never a
 *   Set-Cookie.
 * - it does not: the cookie works as always and the response never carries
 *   the token in a header, so a browser's HttpOnly cookie is never readable
 *   by scripts through a response header. With `headerOnly` every request is
 *   a header client (the first request of an API client has no token yet).
 *
 * Only server-side stores: a cookie store's whole session would not fit a
 * header as a token does.
 */

/** Options of the header transport, shared by the node:http and uWS adapters. */
export interface HeaderTransportOptions {
  /**
   * Read the session token from this request header too, and answer header
   * clients in it (see the README's "Session id in a header"). `authorization`
   * means `Authorization: Bearer <token>`. One session per middleware/route.
   * @default undefined (cookies only)
   */
  header?: string;
  /**
   * Every request is a header client: the Cookie header is never read, no
   * Set-Cookie is ever sent, a new session's token goes out in the header.
   * @default false
   */
  headerOnly?: boolean;
}

/** What a header client's request carried: its token (undefined: none usable). */
export interface HeaderRequest {
  token: string | undefined;
}

const TOKEN = /^[\x21-\x7e]{1,4096}$/;

function sameToken(a: string, b: string): boolean {
  if (a === b) return true;
  try {
    return decodeURIComponent(a) === decodeURIComponent(b);
  } catch {
    return false;
  }
}

/** The header transport of one named session; see the module comment. */
export class HeaderTransport {
  /** The header's name, lowercase. */
  readonly header: string;
  readonly #bearer: boolean;
  readonly #only: boolean;
  /** `<name>=`, how this session's Set-Cookie values start. */
  readonly #key: string;

  constructor(header: string, headerOnly: boolean, name: string) {
    this.header = header;
    this.#bearer = header === 'authorization';
    this.#only = headerOnly;
    this.#key = name + '=';
  }

  /**
   * The transport the options ask for, or null for cookies only. Throws a
   * coded options error for a bad header name, several sessions or a cookie store.
   */
  static of(options: HeaderTransportOptions | undefined, names: readonly string[], stores: readonly AnyStore[]): HeaderTransport | null {
    const header = options?.header;
    const only = options?.headerOnly ?? false;
    if (typeof only !== 'boolean') throw optionsError('headerOnly must be a boolean');
    if (header === undefined) {
      if (only) throw optionsError('headerOnly needs a header');
      return null;
    }
    if (typeof header !== 'string' || !/^[a-z0-9!#$%&'*+.^_`|~-]+$/i.test(header)) throw optionsError('header must be an HTTP header name such as x-session-id or authorization');
    const lower = header.toLowerCase();
    if (lower === 'cookie' || lower === 'set-cookie') throw optionsError('header must not be cookie or set-cookie');
    if (names.length !== 1) throw optionsError('the header transport carries one session: use it with one session name');
    if (stores.some((s) => isCookieStore(s))) throw optionsError('the header transport needs a server-side store (a cookie store keeps the whole session in its cookie)');
    return new HeaderTransport(lower, only, names[0]!);
  }

  /**
   * `value`: the request's header (undefined or '' when absent). Null when
   * the request is a cookie client, else what it carried.
   */
  read(value: string | undefined): HeaderRequest | null {
    if (value === undefined || value.length === 0) return this.#only ? { token: undefined } : null;
    let token = value.trim();
    if (this.#bearer) {
      // RFC 6750 2.1: the scheme is case-insensitive; another scheme (Basic) is not ours.
      if (token.length < 7 || token.slice(0, 7).toLowerCase() !== 'bearer ') return this.#only ? { token: undefined } : null;
      token = token.slice(7).trim();
    }
    // No ';' or ',' (they would add pairs to the Cookie header made of it), no spaces or controls.
    return { token: TOKEN.test(token) && !token.includes(';') && !token.includes(',') ? token : undefined };
  }

  /** The Cookie header the manager loads a header client's session from. */
  cookieHeader(r: HeaderRequest): string | undefined {
    return r.token === undefined ? undefined : this.#key + r.token;
  }

  /**
   * A header client's response: the header's value to send (undefined:
   * none; '' the session ended) from the Set-Cookie values the commit made;
   * `rest` receives the Set-Cookie values of other names (none of this session's).
   */
  respond(r: HeaderRequest, setCookies: readonly string[], rest: string[]): string | undefined {
    let value: string | undefined;
    for (let i = 0; i < setCookies.length; i++) {
      const c = setCookies[i]!;
      if (!c.startsWith(this.#key)) {
        rest.push(c);
        continue;
      }
      const end = c.indexOf(';');
      const token = c.slice(this.#key.length, end === -1 ? c.length : end);
      if (token.length === 0) value = r.token === undefined ? undefined : '';
      else value = r.token !== undefined && sameToken(token, r.token) ? undefined : token;
    }
    if (value === undefined || value.length === 0 || !this.#bearer) return value;
    return 'Bearer ' + value;
  }
}
