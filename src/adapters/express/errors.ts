import { codes, HotsessionError } from '../../errors';

/**
 * Codes that mean the session's data cannot be encoded or stored: retrying
 * never helps, so they answer 500, where a store that failed answers 503
 * (the same split as the other adapters).
 */
const DATA_ERRORS: ReadonlySet<unknown> = new Set([codes.ENCODE, codes.RECORD_TOO_LARGE, codes.COOKIE_TOO_LARGE, codes.COOKIE_INVALID]);

/**
 * The error a store handed back, ready for Express's error path: an error
 * that already names a status keeps it; a data error gets 500; anything else
 * is the store being unavailable and gets 503 (Express's final handler
 * answers `err.status`, and 500 when there is none). The store's own error
 * object is kept, so handlers matching on `err.code` still see it.
 */
export function storeFailure(err: unknown): Error {
  const e = asError(err);
  const code = (e as { code?: unknown }).code;
  return withStatus(e, DATA_ERRORS.has(code) ? 500 : 503);
}

/** An error thrown by the session's end-of-request work (a handler broke the session): 500. */
export function handlerFailure(err: unknown): Error {
  return withStatus(asError(err), 500);
}

function asError(err: unknown): Error {
  if (err instanceof Error) return err;
  return new HotsessionError(codes.STORE, 'session store failed', { cause: err });
}

function withStatus(e: Error, status: number): Error {
  const s = e as Error & { status?: unknown; statusCode?: unknown; expose?: unknown };
  if (typeof s.status === 'number' || typeof s.statusCode === 'number') return e;
  try {
    // `expose: false` keeps the message out of responses built by http-errors-aware handlers.
    Object.assign(s, { status, statusCode: status, expose: false });
  } catch {
    // A frozen error object: hand on a wrapper that carries the status.
    const wrapped = new HotsessionError(codes.STORE, e.message, { cause: e });
    return Object.assign(wrapped, { status, statusCode: status, expose: false });
  }
  return e;
}
