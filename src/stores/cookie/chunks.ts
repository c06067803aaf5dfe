import { findCookie } from '../../codec/cookie-header';
import { codes, HotsessionError } from '../../errors';

/**
 * Splitting one token over several cookies, and joining it back.
 *
 * Part 0 keeps the plain name, parts 1.. are `name.1`, `name.2`, …: so part i
 * has the same name whatever the record's size, and when a record grows or
 * shrinks the manager's "clear names(name, old).slice(new)" removes exactly
 * the parts no longer written, never a part the reader would still prefer.
 * A chunked part 0 starts with the part count and a dot (`3.xxxx`; the dot is
 * outside the base64url alphabet), so a stale `name.4` a browser kept is
 * never read. The parts are concatenated before anything is verified: the
 * envelope's tag covers the whole token, so a missing, extra, swapped or
 * foreign part fails authentication like any other tampering.
 */

/** Most cookies one session may use (Node's default max header size is 16 KiB for all headers). */
export const MAX_CHUNKS = 8;

/** Cookie name of part `i`. */
export function partName(name: string, i: number): string {
  return i === 0 ? name : name + '.' + i;
}

/** Names of every cookie a record of `parts` parts occupies. */
export function partNames(name: string, parts: number): string[] {
  const out = [name];
  for (let i = 1; i < parts; i++) out.push(name + '.' + i);
  return out;
}

/** How the size of one cookie is counted (see CookieStoreOptions.maxCookieSize). */
export interface SizeRule {
  maxCookieSize: number;
  attributeBytes: number;
  chunks: number;
}

/**
 * Cookie `[name, value]` pairs for `token`, or a HOTSESSION_ERR_COOKIE_TOO_LARGE
 * error naming the size and the limit. Size of a cookie = UTF-8 bytes of
 * `name=value` + `attributeBytes`.
 */
export function split(name: string, token: string, rule: SizeRule): Array<[string, string]> {
  const { maxCookieSize: max, attributeBytes: attrs, chunks } = rule;
  const single = Buffer.byteLength(name) + 1 + token.length + attrs;
  if (single <= max) return [[name, token]];
  for (let k = 2; k <= chunks; k++) {
    const prefix = k + '.';
    const caps: number[] = [];
    let room = 0;
    for (let i = 0; i < k; i++) {
      const cap = max - attrs - Buffer.byteLength(partName(name, i)) - 1 - (i === 0 ? prefix.length : 0);
      caps.push(cap);
      room += Math.max(0, cap);
    }
    if (room < token.length || caps.some((c) => c <= 0)) continue;
    // Even parts rather than full ones then a stub: no cookie is larger than it must be.
    const take = caps.map((c) => Math.min(c, Math.ceil(token.length / k)));
    let short = token.length - take.reduce((a, b) => a + b, 0);
    for (let i = 0; i < k && short !== 0; i++) {
      // Positive: fill the spare room of parts whose cap was above the even share.
      // Negative: the even shares overshoot; trim from the end (never to empty).
      const d = short > 0 ? Math.min(caps[i]! - take[i]!, short) : -Math.min(take[k - 1 - i]! - 1, -short);
      if (short > 0) take[i] = take[i]! + d;
      else take[k - 1 - i] = take[k - 1 - i]! + d;
      short -= d;
    }
    const out: Array<[string, string]> = [];
    let at = 0;
    for (let i = 0; i < k; i++) {
      out.push([partName(name, i), (i === 0 ? prefix : '') + token.slice(at, at + take[i]!)]);
      at += take[i]!;
    }
    if (at === token.length) return out;
  }
  throw tooLarge(name, single, rule);
}

/** The HOTSESSION_ERR_COOKIE_TOO_LARGE error for a session whose single cookie would be `size` bytes. */
export function tooLarge(name: string, size: number, rule: SizeRule): HotsessionError & { size: number; limit: number } {
  const { maxCookieSize: max, attributeBytes: attrs, chunks } = rule;
  const err = new HotsessionError(
    codes.COOKIE_TOO_LARGE,
    `session ${JSON.stringify(name)} would need a ${size}-byte cookie (${name}=value plus ${attrs} bytes reserved for attributes), ` +
      `over the ${max}-byte limit (maxCookieSize)` +
      (chunks > 1 ? ` even split over ${chunks} cookies (chunks)` : '') +
      ': store less in the session',
  );
  return Object.assign(err, { size, limit: max });
}

const COUNT = /^[1-9][0-9]?$/;

/**
 * The token stored under `name` in a Cookie header (joined from its parts),
 * and the number of parts, or null when absent, malformed or too long.
 */
export function join(header: string, name: string, rule: SizeRule): { token: string; parts: number } | null {
  const first = findCookie(header, name);
  // A value longer than the cookie limit was not written by us: no decoding, no crypto.
  if (first === undefined || first.length === 0 || first.length > rule.maxCookieSize) return null;
  const dot = first.indexOf('.');
  if (dot === -1) return { token: first, parts: 1 };
  const count = first.slice(0, dot);
  if (rule.chunks === 1 || !COUNT.test(count)) return null;
  const k = Number(count);
  if (k < 2 || k > rule.chunks) return null;
  let token = first.slice(dot + 1);
  for (let i = 1; i < k; i++) {
    const part = findCookie(header, name + '.' + i);
    if (part === undefined || part.length === 0 || part.length > rule.maxCookieSize) return null;
    token += part;
  }
  return { token, parts: k };
}
