import { STATUS_CODES } from 'node:http';
import type { HttpResponse } from './types';
import type { Reply } from './types';

// Writing a response. uWS formats the response linearly into one buffer:
// the status line must come first, then headers, then `end`. uWS writes
// header names and values as given, CR and LF included: everything a handler
// returns is checked by `checkResult` before the first byte is written, so a
// bad result becomes a clean 500 (a handler error) instead of a split or half
// response. The rules are node:http's (lib/_http_common.js), so a reply
// node:http refuses is refused here too:
// - a name is an RFC 9110 token (5.6.2);
// - a value holds no control character but HTAB, no DEL, nothing above
//   U+00FF (RFC 9110 5.5 field-vchar / obs-text; node's checkInvalidHeaderChar);
// - a value is a string, a number or an array of them, nothing whose
//   `toString` could say something else at write time;
// - own properties only (node reads headers with for-in + hasOwn): a polluted
//   Object.prototype adds no header (the hasOwn costs about 12 ns per headers
//   object of 1-3 entries, in the check and again in the write);
// - no transfer-encoding: uWS frames every body with content-length, and a
//   message with both is read differently by different parsers (RFC 9112 6.3).
//
// Regexes rather than a charCode loop: node 20, in-process, 2e6 rounds over
// six typical name/value pairs (a 130-character CSP among them): a name took
// 21 ns with TOKEN (23 ns with a table-driven loop), a value 39-40 ns with
// BAD_VALUE (58-72 ns with a loop). A plain string/Buffer result has no
// headers and pays nothing.
//
// The check runs once, before the commit: a reply object that other code
// changes while an asynchronous store commits is written as changed, not
// checked again. Only code that keeps and shares its reply objects can do that.
const TOKEN = /^[\^_`a-zA-Z\-0-9!#$%&'*+.|~]+$/;
const BAD_VALUE = /[^\t\x20-\x7e\x80-\xff]/;

const NONE: readonly string[] = [];
// Packed ('' = not built yet): a hole would be looked up on Array.prototype
// and Object.prototype, and a polluted one would become the status line.
const lines: string[] = new Array<string>(1000).fill('');

/** Node's reason phrase for `code`, own properties only and checked like a header value. */
function reasonOf(code: number): string | undefined {
  const text: unknown = Object.hasOwn(STATUS_CODES, code) ? STATUS_CODES[code] : undefined;
  return typeof text === 'string' && !BAD_VALUE.test(text) ? text : undefined;
}

/** "404 Not Found", built once per code (an integer 100..999). */
export function statusLine(code: number): string {
  const line = lines[code];
  if (line !== undefined && line !== '') return line;
  const built = `${code} ${reasonOf(code) ?? 'Unknown'}`;
  if (line === '') lines[code] = built;
  return built;
}

function isBody(v: unknown): boolean {
  return typeof v === 'string' || v instanceof Uint8Array || v instanceof ArrayBuffer;
}

/** A header name for an error message: escaped and short (it may be attacker-made). */
function shown(name: string): string {
  return JSON.stringify(name.length > 64 ? `${name.slice(0, 64)}...` : name);
}

function badValue(name: string, value: string): TypeError {
  const c = value.charCodeAt(value.search(BAD_VALUE));
  const at = `U+${c.toString(16).toUpperCase().padStart(4, '0')}`;
  return new TypeError(`reply header ${shown(name)}: ${at} is not allowed in a header value (CR, LF, NUL and other controls but HTAB, DEL, above U+00FF)`);
}

function checkHeaders(headers: object): void {
  for (const name in headers) {
    if (!Object.hasOwn(headers, name)) continue;
    if (!TOKEN.test(name)) throw new TypeError(`reply header name ${shown(name)} is not an HTTP token (RFC 9110 5.6.2)`);
    const value: unknown = (headers as Record<string, unknown>)[name];
    if (typeof value === 'string') {
      if (BAD_VALUE.test(value)) throw badValue(name, value);
    } else if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) {
        const v: unknown = value[i];
        if (typeof v === 'string') {
          if (BAD_VALUE.test(v)) throw badValue(name, v);
        } else if (typeof v !== 'number') {
          throw new TypeError(`reply header ${shown(name)}: array elements must be strings or numbers; got ${v === null ? 'null' : typeof v}`);
        }
      }
    } else if (typeof value !== 'number' && value !== undefined) {
      throw new TypeError(`reply header ${shown(name)} must be a string, a number or an array of them; got ${value === null ? 'null' : typeof value}`);
    }
    if (name.length === 17 && name.toLowerCase() === 'transfer-encoding') {
      throw new TypeError('reply header "transfer-encoding" cannot be set: uWS frames the body with content-length');
    }
  }
}

/** Throws a TypeError when a handler's result is not a response this adapter can send. */
export function checkResult(result: unknown): void {
  if (result === undefined || isBody(result)) return;
  if (result === null || typeof result !== 'object') throw new TypeError(`a handler must return a string, a Buffer/Uint8Array, { status, headers, body } or undefined; got ${result === null ? 'null' : typeof result}`);
  const { status, headers, body } = result as Reply;
  if (status !== undefined && !(Number.isInteger(status) && status >= 100 && status <= 999)) throw new TypeError(`reply status must be an integer 100..999; got ${String(status)}`);
  if (body !== undefined && !isBody(body)) throw new TypeError('reply body must be a string, a Buffer/Uint8Array or an ArrayBuffer');
  if (headers !== undefined) {
    if (headers === null || typeof headers !== 'object' || Array.isArray(headers)) throw new TypeError('reply headers must be an object of name: value');
    checkHeaders(headers);
  }
}

function writeCookies(res: HttpResponse, cookies: readonly string[]): void {
  for (let i = 0; i < cookies.length; i++) {
    const c = cookies[i]!;
    // A header transport's token rides along as "\n<header>\n<value>" (header-binding.ts).
    if (c.charCodeAt(0) === 10) {
      const j = c.indexOf('\n', 1);
      res.writeHeader(c.slice(1, j), c.slice(j + 1));
    } else {
      res.writeHeader('set-cookie', c);
    }
  }
}

/** Writes headers `checkHeaders` accepted, walking them the same way. */
function writeHeaders(res: HttpResponse, headers: Readonly<Record<string, string | number | readonly (string | number)[]>>): void {
  for (const name in headers) {
    if (!Object.hasOwn(headers, name)) continue;
    const value = headers[name];
    if (value === undefined) continue;
    // uWS writes its own content-length on end(); a second one breaks the response.
    if (name.length === 14 && name.toLowerCase() === 'content-length') continue;
    if (typeof value === 'string') res.writeHeader(name, value);
    else if (typeof value === 'number') res.writeHeader(name, String(value));
    else for (let i = 0; i < value.length; i++) res.writeHeader(name, String(value[i]));
  }
}

/** 204, 304 and 1xx carry no body (RFC 9110 15.3.5, 15.4.5) and no content-length. */
function bodiless(code: number): boolean {
  return code === 204 || code === 304 || code < 200;
}

function endEmpty(res: HttpResponse, code: number): void {
  if (bodiless(code) && typeof res.endWithoutBody === 'function') res.endWithoutBody();
  else res.end();
}

/**
 * Writes a checked result and its Set-Cookie values. Must run corked (inside
 * the route's synchronous part, or inside `res.cork`). Throws only what uWS
 * throws for a response that was already ended or aborted.
 */
export function send(res: HttpResponse, result: unknown, cookies: readonly string[]): void {
  if (result === undefined) {
    res.writeStatus('204 No Content');
    writeCookies(res, cookies);
    endEmpty(res, 204);
    return;
  }
  if (typeof result === 'string' || result instanceof Uint8Array || result instanceof ArrayBuffer) {
    // 200 is uWS's default status line: writing no status saves a call.
    writeCookies(res, cookies);
    res.end(result);
    return;
  }
  const { status, headers, body } = result as Reply;
  const code = status ?? (body === undefined ? 204 : 200);
  if (code !== 200) res.writeStatus(statusLine(code));
  writeCookies(res, cookies);
  if (headers !== undefined) writeHeaders(res, headers);
  // A body given with a bodiless status is dropped, as node:http does.
  if (body === undefined || bodiless(code)) endEmpty(res, code);
  else res.end(body);
}

/** A generic error response: the status text, never the error's message. */
export function sendError(res: HttpResponse, code: number): void {
  res.writeStatus(statusLine(code));
  res.writeHeader('content-type', 'text/plain; charset=utf-8');
  res.end(reasonOf(code) ?? 'Error');
}

// `res.cork(cb)` runs cb synchronously and only once, so the arguments can
// wait in module state: no closure is allocated per corked response.
let cRes: HttpResponse | null = null;
let cResult: unknown;
let cCookies: readonly string[] = NONE;
let cError = 0;

function corked(): void {
  if (cError !== 0) sendError(cRes!, cError);
  else send(cRes!, cResult, cCookies);
}

/** `send` from outside the route's synchronous part (after an await). */
export function sendCorked(res: HttpResponse, result: unknown, cookies: readonly string[]): void {
  cRes = res;
  cResult = result;
  cCookies = cookies;
  cError = 0;
  try {
    res.cork(corked);
  } finally {
    cRes = null;
    cResult = undefined;
    cCookies = NONE;
  }
}

/** `sendError` from outside the route's synchronous part. */
export function sendErrorCorked(res: HttpResponse, code: number): void {
  cRes = res;
  cError = code;
  try {
    res.cork(corked);
  } finally {
    cRes = null;
    cError = 0;
  }
}
