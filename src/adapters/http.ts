import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import { debuglog } from 'node:util';
import type { SessionManager } from '../core/manager';
import type { SessionOptions } from '../core/options';
import { HeaderTransport, type HeaderRequest, type HeaderTransportOptions } from '../core/transport';
import { stateOf, type Session, type SessionData } from '../core/session';
import { codes, HotsessionError } from '../errors';
import type { AnyStore, MaybePromise } from '../stores/types';
import { prepareShapes } from './shape';
import { errorStatusOf, onErrorOf, statusOf, type ErrorSource } from './failure';
import { entriesOf, managersOf, type NamedStore } from './named';

export type { ErrorSource, NamedStore };

const debug = debuglog('hotsession');

/** Options of the node:http middleware. */
export interface HttpSessionOptions extends SessionOptions, HeaderTransportOptions {
  /**
   * Status sent when the store is unavailable (loading or saving) and no
   * `next` takes the error; an integer 400..599. Data that cannot be encoded
   * or stored (a cookie or record too large) is a 500 instead. The body is
   * the bare status text, never the error's message.
   * @default 503
   */
  errorStatus?: number;
  /**
   * Called with every error the middleware answers (for logging), with its
   * source as in the uWS adapter and the request as a third argument; the
   * response is handled either way.
   * @default console.error
   */
  onError?: (err: Error, source: ErrorSource, req: IncomingMessage) => void;
}

/** Connect-style middleware. `next(err)` receives store errors. */
export type Middleware = (req: IncomingMessage, res: ServerResponse, next?: (err?: unknown) => void) => void;

const kSessions = Symbol('hotsession.sessions');

interface Loaded {
  names: readonly string[];
  sessions: Session<any>[];
}

type WithSessions = IncomingMessage & { [kSessions]?: Loaded };

/**
 * The session loaded by `sessions()` for this request. Synchronous: the
 * middleware has loaded it before calling `next`.
 */
export function getSession<Data extends SessionData = SessionData>(req: IncomingMessage): Session<Data> {
  const loaded = (req as WithSessions)[kSessions];
  if (loaded === undefined) throw new HotsessionError(codes.OPTIONS, 'no session on this request: is the sessions() middleware installed before this handler?');
  return loaded.sessions[0] as Session<Data>;
}

/** The session named `name` loaded by `sessionsMany()` / `sessionsManyStores()`. */
export function getSessionMany<Data extends SessionData = SessionData>(req: IncomingMessage, name: string): Session<Data> {
  const loaded = (req as WithSessions)[kSessions];
  const i = loaded === undefined ? -1 : loaded.names.indexOf(name);
  if (i === -1) throw new HotsessionError(codes.OPTIONS, `no session named ${JSON.stringify(name)} on this request`);
  return loaded!.sessions[i] as Session<Data>;
}

/**
 * The middleware, and the SessionManager behind each of its sessions, for
 * what runs outside a request (the account API of users' sessions:
 * `sessionsOf`, `revokeSession`, `revokeUser`).
 */
export type SessionsMiddleware = Middleware & {
  /** The managers by session name. */
  readonly managers: Readonly<Record<string, SessionManager>>;
};

/** {@link SessionsMiddleware} of one session, with its manager. */
export type SessionMiddleware = SessionsMiddleware & {
  /** The session's manager (`mw.manager.sessionsOf(userId)`). */
  readonly manager: SessionManager;
};

/** Middleware for one named session in one store (gin's `sessions.Sessions(name, store)`). */
export function sessions(name: string, store: AnyStore, options: HttpSessionOptions): SessionMiddleware {
  const mw = sessionsManyStores([{ name, store }], options);
  return Object.defineProperty(mw, 'manager', { value: mw.managers[name], enumerable: true }) as SessionMiddleware;
}

/** Middleware for several named sessions in one store. */
export function sessionsMany(names: readonly string[], store: AnyStore, options: HttpSessionOptions): SessionsMiddleware {
  return sessionsManyStores(entriesOf(names, store), options);
}

/** Middleware for several named sessions, each in its own store. */
export function sessionsManyStores(entries: readonly NamedStore[], options: HttpSessionOptions): SessionsMiddleware {
  const errorStatus = errorStatusOf(options);
  const onError = onErrorOf(options, 'http');
  const managers = managersOf(entries, options);
  const names = managers.map((m) => m.name);
  const transport = HeaderTransport.of(options, names, entries.map((e) => e.store));

  const fail = (err: unknown, req: IncomingMessage, res: ServerResponse, next?: (err?: unknown) => void): void => {
    const error = storeError(err);
    debug('store error: %s', (err as Error)?.message);
    report(onError, error, req);
    if (next !== undefined) return next(error);
    const status = statusOf(error, 'store', errorStatus);
    if (!res.headersSent) {
      res.statusCode = status;
      res.setHeader('content-type', 'text/plain; charset=utf-8');
    }
    res.end(STATUS_CODES[status] ?? 'Error');
  };

  const mw: Middleware = function hotsession(req, res, next) {
    let header = req.headers.cookie;
    let via: HeaderRequest | null = null;
    if (transport !== null && (via = transport.read(req.headers[transport.header] as string | undefined)) !== null) header = transport.cookieHeader(via);
    if (managers.length === 1) {
      let loaded: MaybePromise<Session<any>>;
      try {
        loaded = managers[0]!.load(header);
      } catch (err) {
        return fail(err, req, res, next);
      }
      if (loaded instanceof Promise) {
        loaded.then((s) => start(req, res, next, managers, names, [s], errorStatus, onError, via === null ? null : [transport!, via]), (err) => fail(err, req, res, next));
      } else {
        start(req, res, next, managers, names, [loaded], errorStatus, onError, via === null ? null : [transport!, via]);
      }
      return;
    }
    const all = managers.map((m) => m.load(header));
    if (all.some((s) => s instanceof Promise)) {
      Promise.all(all).then((list) => start(req, res, next, managers, names, list, errorStatus, onError), (err) => fail(err, req, res, next));
    } else {
      start(req, res, next, managers, names, all as Session<any>[], errorStatus, onError);
    }
  };
  const byName = Object.freeze(Object.fromEntries(managers.map((m) => [m.name, m])));
  return Object.defineProperty(mw, 'managers', { value: byName, enumerable: true }) as SessionsMiddleware;
}

function storeError(err: unknown): HotsessionError {
  if (err instanceof HotsessionError && (err as { status?: number }).status !== undefined) return err;
  const e = err instanceof HotsessionError ? err : new HotsessionError(codes.STORE, 'session store unavailable', { cause: err });
  // Express and connect read `status`; `expose: false` keeps the message out of responses.
  const status = statusOf(e, 'store', 503);
  Object.assign(e, { status, statusCode: status, expose: false });
  return e;
}

/** Calls the app's hook; a hook that throws must not leave the response unanswered. */
function report(onError: NonNullable<HttpSessionOptions['onError']>, err: Error, req: IncomingMessage): void {
  try {
    onError(err, 'store', req);
  } catch (hookErr) {
    debug('onError threw: %s', (hookErr as Error)?.message);
  }
}

function start(
  req: IncomingMessage, res: ServerResponse, next: ((err?: unknown) => void) | undefined,
  managers: SessionManager[], names: readonly string[], list: Session<any>[],
  errorStatus: number, onError: NonNullable<HttpSessionOptions['onError']>, via: Via = null,
): void {
  prepareShapes(req, res);
  (req as WithSessions)[kSessions] = { names, sessions: list };
  hookResponse(req, res, managers, list, errorStatus, onError, via);
  if (next !== undefined) next();
}

/** A header client's transport and what its request carried (header transport), or null. */
type Via = readonly [HeaderTransport, HeaderRequest] | null;

/** Replaces earlier Set-Cookie values for the same cookie name; keeps everybody else's. */
function setCookies(res: ServerResponse, values: readonly string[], via: Via = null): void {
  if (values.length === 0 || res.headersSent) return;
  if (via !== null) {
    // A header client: this session's token goes in the header, never in a cookie.
    const rest: string[] = [];
    const token = via[0].respond(via[1], values, rest);
    if (token !== undefined) res.setHeader(via[0].header, token);
    if (rest.length === 0) return;
    values = rest;
  }
  const prev = res.getHeader('set-cookie');
  if (prev === undefined) {
    res.setHeader('set-cookie', values.length === 1 ? values[0]! : [...values]);
    return;
  }
  const names = values.map((v) => v.slice(0, v.indexOf('=') + 1));
  const kept = (Array.isArray(prev) ? prev : [String(prev)]).filter((v) => !names.some((n) => v.startsWith(n)));
  res.setHeader('set-cookie', [...kept, ...values]);
}

/**
 * Saves modified sessions before the response goes out, the way
 * express-session does: `end` waits for the store's acknowledgement, then
 * sets the cookie and sends. A response that streams (headers flushed by
 * `write`) gets its cookie when the headers go out and its store write
 * awaited before `end` completes.
 */
function hookResponse(
  req: IncomingMessage, res: ServerResponse, managers: SessionManager[], list: Session<any>[],
  errorStatus: number, onError: NonNullable<HttpSessionOptions['onError']>, via: Via,
): void {
  const end = res.end;
  const writeHead = res.writeHead;
  // 0: open, 1: headers went out early (streaming), 2: end in progress
  let phase = 0;
  let early: Promise<void>[] | null = null;

  // Explicit save()s hand their Set-Cookie values over at once.
  const sink = (values: readonly string[]): void => setCookies(res, values, via);
  for (const s of list) stateOf(s).sink = sink;

  const prepareAll = (): { headers: string[]; writes: Promise<void>[] | null } => {
    const headers: string[] = [];
    let writes: Promise<void>[] | null = null;
    for (let i = 0; i < list.length; i++) {
      const m = managers[i]!;
      const s = list[i]!;
      const p = m.prepare(s);
      for (const h of m.takePending(s)) headers.push(h);
      for (const h of p.headers) headers.push(h);
      if (p.write instanceof Promise) (writes ??= []).push(p.write);
    }
    return { headers, writes };
  };

  res.writeHead = function (this: ServerResponse, ...args: unknown[]) {
    if (phase === 0) {
      phase = 1;
      try {
        const { headers, writes } = prepareAll();
        setCookies(res, headers, via);
        early = writes;
      } catch (err) {
        // The status line is about to go out as the handler asked: a session
        // that could not be prepared must not end as a 200 that dropped its
        // write, so `end` fails the response (destroys it once headers left).
        const failed = Promise.reject(err);
        failed.catch(() => {});
        early = [failed];
      }
    }
    return (writeHead as (...a: unknown[]) => ServerResponse).apply(this, args);
  } as typeof res.writeHead;

  res.end = function (this: ServerResponse, ...args: unknown[]) {
    if (phase === 2) return (end as (...a: unknown[]) => ServerResponse).apply(this, args);
    const streamed = phase === 1;
    phase = 2;
    let writes: Promise<void>[] | null;
    let headers: string[] = [];
    try {
      if (streamed) {
        writes = early;
      } else {
        ({ headers, writes } = prepareAll());
      }
    } catch (err) {
      failResponse(err as Error);
      return res;
    }
    if (writes === null) {
      setCookies(res, headers, via);
      return (end as (...a: unknown[]) => ServerResponse).apply(this, args);
    }
    Promise.all(writes).then(
      () => {
        setCookies(res, headers, via);
        (end as (...a: unknown[]) => ServerResponse).apply(res, args);
      },
      (err: Error) => failResponse(err),
    );
    return res;
  } as typeof res.end;

  function failResponse(err: Error): void {
    const error = storeError(err);
    report(onError, error, req);
    debug('session save failed: %s', err.message);
    if (res.headersSent) {
      // The client already has part of a response that promised a saved session.
      res.destroy(err);
      return;
    }
    res.removeHeader('set-cookie');
    if (via !== null) res.removeHeader(via[0].header);
    res.removeHeader('content-length');
    const status = statusOf(error, 'store', errorStatus);
    res.statusCode = status;
    res.setHeader('content-type', 'text/plain; charset=utf-8');
    (end as (chunk: string) => ServerResponse).call(res, STATUS_CODES[status] ?? 'Error');
  }
}
