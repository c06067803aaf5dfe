import { codes, HotsessionError, optionsError } from '../errors';

// How the node:http and uWS adapters answer a failure, in one place so that
// they answer alike: the same status for the same error, the same hook, the
// same default and the same option checks. Express keeps express-session's
// contract instead (the error goes to `next(err)`, see the README table).

/** Where an error came from, as reported to `onError`. */
export type ErrorSource = 'store' | 'handler';

/**
 * Codes that mean "the store cannot answer now": a retry may succeed, so they
 * are answered `errorStatus` (503 by default). Everything else (a cookie or a
 * record too large, data that cannot be encoded, a handler's error) will fail
 * the same way again and is a 500.
 */
const UNAVAILABLE: readonly string[] = [codes.STORE, codes.STORE_TIMEOUT, codes.QUEUE_FULL, codes.STORE_CLOSED];

/** The status an adapter answers for `error` from `source`. */
export function statusOf(error: Error, source: ErrorSource, errorStatus: number): number {
  if (error instanceof HotsessionError) return UNAVAILABLE.includes(error.code) ? errorStatus : 500;
  return source === 'store' ? errorStatus : 500;
}

/** `options.errorStatus`, checked: an integer 400..599, 503 when absent. */
export function errorStatusOf(options: { errorStatus?: number } | undefined): number {
  const errorStatus = options?.errorStatus ?? 503;
  if (!Number.isInteger(errorStatus) || errorStatus < 400 || errorStatus > 599) throw optionsError('errorStatus must be an integer 400..599');
  return errorStatus;
}

/** `options.onError`, checked: a function, `console.error` with the adapter's name when absent. */
export function onErrorOf<H extends (err: Error, source: ErrorSource, ...rest: never[]) => void>(options: { onError?: H } | undefined, adapter: string): H {
  const onError = options?.onError ?? (((err: Error, source: ErrorSource) => console.error(`hotsession/${adapter}: ${source} error:`, err)) as H);
  if (typeof onError !== 'function') throw optionsError('onError must be a function');
  return onError;
}
