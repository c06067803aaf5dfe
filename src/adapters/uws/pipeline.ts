import { debuglog } from 'node:util';
import type { HttpRequest, HttpResponse, us_socket_context_t } from './types';
import { codes, HotsessionError } from '../../errors';
import type { MaybePromise } from '../../stores/types';
import { cookieHeader, cookieKeys } from './cookie-lines';
import { checkResult, send, sendCorked, sendError, sendErrorCorked } from './respond';
import { RequestSnapshot } from './snapshot';
import type { Binding, ErrorSource, Prepare, Settings, UwsRoute } from './types';
import { statusOf } from '../failure';

const debug = debuglog('hotsession');

/** The handler as the pipeline sees it: the third argument is whatever the binding exposes. */
export type AnyHandler = (res: HttpResponse, req: HttpRequest, arg: any, prepared: unknown) => unknown;

// Errors that mean "the backend is unavailable" whatever their source.

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return v instanceof Promise || (v !== null && typeof v === 'object' && typeof (v as PromiseLike<unknown>).then === 'function');
}

function ignore(): void {}

/**
 * What `prepare` started (a body read) may reject before the handler awaits
 * it, or with no handler at all (the store failed, the client left): mark it
 * handled so Node does not crash on an unhandled rejection. The handler's own
 * `await` still sees the rejection.
 */
function handled(prepared: unknown): unknown {
  if (isThenable(prepared)) prepared.then(undefined, ignore);
  return prepared;
}

/**
 * Builds the uWS route for one handler. Three stages can each answer
 * synchronously or not: loading the session(s), the handler, the commit.
 * While all three are synchronous (memory or cookie store, plain handler),
 * the request is served inside uWS's own callback, already corked, with no
 * await, no promise and no closure. The first stage that returns a promise
 * hands the rest to `later`, which registers `onAborted` before it awaits.
 * `names` are the binding's session names (what the Cookie header is read for).
 */
export function makeRoute<S>(binding: Binding<S>, names: readonly string[], handler: AnyHandler, prepare: Prepare<unknown> | undefined, settings: Settings): UwsRoute {
  const keys = cookieKeys(names);
  return function hotsessionRoute(res: HttpResponse, req: HttpRequest, context?: us_socket_context_t): void {
    let prepared: unknown;
    if (prepare !== undefined) {
      try {
        prepared = handled(prepare(res, req, context));
      } catch (err) {
        return fail(res, settings, err, 'handler', false);
      }
    }
    let loaded: MaybePromise<S>;
    try {
      loaded = binding.load(cookieHeader(req, keys), req);
    } catch (err) {
      return fail(res, settings, err, 'store', false);
    }
    if (loaded instanceof Promise) {
      // req dies when this callback returns: the handler will read a copy.
      void later(res, binding, handler, settings, new RequestSnapshot(req) as unknown as HttpRequest, prepared, loaded, undefined, null);
      return;
    }
    let result: unknown;
    try {
      result = handler(res, req, binding.arg(loaded), prepared);
    } catch (err) {
      return fail(res, settings, err, 'handler', false);
    }
    if (isThenable(result)) {
      void later(res, binding, handler, settings, null, undefined, loaded, result, null);
      return;
    }
    try {
      checkResult(result);
    } catch (err) {
      return fail(res, settings, err, 'handler', false);
    }
    let cookies: MaybePromise<readonly string[]>;
    try {
      cookies = binding.commit(loaded);
    } catch (err) {
      return fail(res, settings, err, 'store', false);
    }
    if (cookies instanceof Promise) {
      void later(res, binding, handler, settings, null, undefined, loaded, result, cookies);
      return;
    }
    try {
      send(res, result, cookies);
    } catch {
      ended(settings, cookies);
    }
  };
}

/**
 * The asynchronous remainder of a request. `req` (and `prepared`) are
 * given when the handler has not run yet; `cookies` is non-null when the
 * commit started.
 */
async function later<S>(
  res: HttpResponse, binding: Binding<S>, handler: AnyHandler, settings: Settings,
  req: HttpRequest | null, prepared: unknown, loaded: MaybePromise<S>, result: unknown, cookies: MaybePromise<readonly string[]> | null,
): Promise<void> {
  // Before the first await: uWS requires it, and it is the only way to learn
  // that the client left. `aborted` is the uWS convention handlers can read.
  try {
    res.onAborted(() => {
      res.aborted = true;
    });
  } catch {
    // uWS throws: the handler ended res before its first await. It still
    // runs to its end and its session is committed; every later write
    // attempt throws and is caught like any write to a finished response.
  }
  let s: S;
  try {
    s = loaded instanceof Promise ? await loaded : loaded;
  } catch (err) {
    return fail(res, settings, err, 'store', true);
  }
  if (req !== null) {
    // The client left while its session loaded: nothing has happened yet, so nothing runs.
    if (res.aborted === true) return;
    try {
      result = handler(res, req, binding.arg(s), prepared);
    } catch (err) {
      return fail(res, settings, err, 'handler', true);
    }
  }
  if (isThenable(result)) {
    try {
      result = await result;
    } catch (err) {
      return fail(res, settings, err, 'handler', true);
    }
  }
  if (cookies === null) {
    try {
      checkResult(result);
    } catch (err) {
      return fail(res, settings, err, 'handler', true);
    }
    // Committed even when the client left: the handler ran, its changes stand.
    try {
      cookies = binding.commit(s);
    } catch (err) {
      return fail(res, settings, err, 'store', true);
    }
  }
  let list: readonly string[];
  try {
    list = cookies instanceof Promise ? await cookies : cookies;
  } catch (err) {
    return fail(res, settings, err, 'store', true);
  }
  if (res.aborted === true) return;
  try {
    sendCorked(res, result, list);
  } catch {
    ended(settings, list);
  }
}

/** uWS threw on write: the handler ended `res` itself (or the client left unseen). */
function ended(settings: Settings, cookies: readonly string[]): void {
  if (cookies.length === 0 || settings.warned) return;
  settings.warned = true;
  process.emitWarning(
    'a handler ended res itself while its session still had a cookie to send; the cookie was lost. ' +
      'Handlers that write res themselves must first write the Set-Cookie values of `await commit(session)`.',
    { code: 'HOTSESSION_UWS_UNSENT_COOKIE' },
  );
}

function toError(err: unknown, source: ErrorSource): Error {
  if (err instanceof HotsessionError || (source === 'handler' && err instanceof Error)) return err;
  if (source === 'store') return new HotsessionError(codes.STORE, 'session store unavailable', { cause: err });
  return new Error(`handler threw a non-error: ${String(err)}`, { cause: err });
}

function fail(res: HttpResponse, settings: Settings, err: unknown, source: ErrorSource, corked: boolean): void {
  const error = toError(err, source);
  const status = statusOf(error, source, settings.errorStatus);
  debug('uws: %s error, answering %d: %s', source, status, error.message);
  try {
    settings.onError(error, source);
  } catch (hookErr) {
    debug('uws: onError threw: %s', (hookErr as Error)?.message);
  }
  if (res.aborted === true) return;
  try {
    if (corked) sendErrorCorked(res, status);
    else sendError(res, status);
  } catch {
    // The handler had already ended res before failing: nothing more can be sent.
  }
}
