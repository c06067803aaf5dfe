import { STATUS_CODES } from 'node:http';
import type { HttpResponse } from 'uWebSockets.js';
import type { Reply } from './types';

// Writing a response. uWS formats the response linearly into one buffer:
// the status line must come first, then headers, then `end`. Nothing here
// validates header values (uWS does not either); results are checked by
// `checkResult` before the first byte is written, so a bad result becomes a
// clean 500 instead of half a response.

const NONE: readonly string[] = [];
const lines: string[] = [];

/** "404 Not Found", built once per code. */
export function statusLine(code: number): string {
  return (lines[code] ??= `${code} ${STATUS_CODES[code] ?? 'Unknown'}`);
}

function isBody(v: unknown): boolean {
  return typeof v === 'string' || v instanceof Uint8Array || v instanceof ArrayBuffer;
}

/** Throws a TypeError when a handler's result is not a response this adapter can send. */
export function checkResult(result: unknown): void {
  if (result === undefined || isBody(result)) return;
  if (result === null || typeof result !== 'object') throw new TypeError(`a handler must return a string, a Buffer/Uint8Array, { status, headers, body } or undefined; got ${result === null ? 'null' : typeof result}`);
  const { status, headers, body } = result as Reply;
  if (status !== undefined && !(Number.isInteger(status) && status >= 100 && status <= 999)) throw new TypeError(`reply status must be an integer 100..999; got ${String(status)}`);
  if (body !== undefined && !isBody(body)) throw new TypeError('reply body must be a string, a Buffer/Uint8Array or an ArrayBuffer');
  if (headers !== undefined && (headers === null || typeof headers !== 'object')) throw new TypeError('reply headers must be an object');
}

function writeCookies(res: HttpResponse, cookies: readonly string[]): void {
  for (let i = 0; i < cookies.length; i++) res.writeHeader('set-cookie', cookies[i]!);
}

function writeHeaders(res: HttpResponse, headers: Readonly<Record<string, string | number | readonly string[]>>): void {
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined) continue;
    // uWS writes its own content-length on end(); a second one breaks the response.
    if (name.length === 14 && name.toLowerCase() === 'content-length') continue;
    if (typeof value === 'string') res.writeHeader(name, value);
    else if (typeof value === 'number') res.writeHeader(name, String(value));
    else for (const v of value) res.writeHeader(name, String(v));
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
  res.end(STATUS_CODES[code] ?? 'Error');
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
