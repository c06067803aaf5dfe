import type { HttpRequest } from './types';
import { MAX_CHUNKS, partName } from '../../stores/cookie/chunks';

// A request may carry several Cookie lines (an HTTP/2 front end that forwards
// the RFC 9113 8.2.3 crumbs without joining them, a hand-made client).
// node:http joins them with '; ' (IncomingMessage, 'cookie' case), and so
// does this adapter; uWS's `req.getHeader('cookie')` gives the first line only.
//
// `req.forEach` is the only way to see the other lines, and it is not cheap:
// it makes two strings per header. Measured on node 20 in a uWS route with 15
// browser-like headers (an in-process loop of 200k-300k calls, noisy shared
// machine): getHeader('cookie') 60-90 ns, a forEach 1,100-1,750 ns; end to
// end (pipelined requests, server CPU per request), a cookieless request on a
// MemoryStore session route took 1.25 us, and 2.8 us with one forEach added.
// So the first line is used alone when the join cannot change what the
// sessions read:
// - it holds every session cookie of the route (with every part of a chunked
//   cookie-store cookie): the first occurrence of a name wins, so later lines
//   change nothing. The check is an indexOf per name: 40 ns for one name,
//   55 ns for two, on a 180-character line whose session cookie comes last.
//   This is every request that carries its session(s);
// - it is empty: no Cookie header, or an empty first line, which no client
//   sends before others. node:http would read the later lines ('; sid=...');
//   this adapter does not, and serves such a request a fresh session.
// Only a request that carries cookies but not (all of) the route's on its
// first line pays the forEach: an anonymous visitor with other cookies, or a
// sessionsMany() route where one of the sessions does not exist yet.

let joined = '';
let count = 0;

function add(key: string, value: string): void {
  if (key !== 'cookie') return;
  joined = count++ === 0 ? value : `${joined}; ${value}`;
}

/** Every Cookie line of a live uWS request, joined as node:http joins them ('' when there is none). */
export function allCookieLines(req: HttpRequest): string {
  try {
    req.forEach(add);
    return joined;
  } finally {
    joined = '';
    count = 0;
  }
}

/** `name=` for each session name of a route: what `cookieHeader` looks for, built once per route. */
export function cookieKeys(names: readonly string[]): readonly string[] {
  return names.map((n) => `${n}=`);
}

/**
 * The Cookie header a route's sessions load from: the first Cookie line when
 * the others cannot matter (see above), else every line joined.
 */
export function cookieHeader(req: HttpRequest, keys: readonly string[]): string {
  const first = req.getHeader('cookie');
  if (first.length === 0) return first;
  for (let i = 0; i < keys.length; i++) if (!holds(first, keys[i]!)) return allCookieLines(req);
  return first;
}

/**
 * Where `key` ("name=") starts a pair in `line` as a cookie parser splits it
 * (after the start or a ';', and spaces or tabs), or -1. A false "absent"
 * only costs a join; a false "present" would hide a later line, so a name
 * inside another name or value ('xsid=', 'a=sid=', 'a=1 sid=') does not count.
 */
function pairAt(line: string, key: string): number {
  for (let at = line.indexOf(key); at !== -1; at = line.indexOf(key, at + 1)) {
    let j = at - 1;
    while (j >= 0 && (line.charCodeAt(j) === 0x20 || line.charCodeAt(j) === 0x09)) j--;
    if (j < 0 || line.charCodeAt(j) === 0x3b /* ; */) return at;
  }
  return -1;
}

/**
 * Whether `line` holds the cookie `key` names, with all its parts: a chunked
 * cookie-store value starts with its part count and a dot ("3.xxx", see
 * stores/cookie/chunks.ts), its other parts are `name.1` ... `name.(k-1)`.
 */
function holds(line: string, key: string): boolean {
  const at = pairAt(line, key);
  if (at === -1) return false;
  let v = at + key.length;
  while (v < line.length && (line.charCodeAt(v) === 0x20 || line.charCodeAt(v) === 0x09 || line.charCodeAt(v) === 0x22)) v++;
  let k = 0;
  for (let c = line.charCodeAt(v); c >= 0x30 && c <= 0x39 && k <= MAX_CHUNKS; c = line.charCodeAt(++v)) k = k * 10 + c - 0x30;
  // Not chunked (server-store values start with 's', base64url has no dot), or a count the store refuses anyway.
  if (k < 2 || k > MAX_CHUNKS || line.charCodeAt(v) !== 0x2e /* . */) return true;
  const name = key.slice(0, -1);
  for (let i = 1; i < k; i++) if (pairAt(line, `${partName(name, i)}=`) === -1) return false;
  return true;
}
