import { publishFailure } from '../diagnostics';
import { codes, HotsessionError } from '../errors';
/** What carries a request's store-time budget: the core's session state, hotsession/express's request state. */
export interface Budgeted {
  /** ms of store time left (Infinity: no budget). */
  budgetLeft: number;
}

/**
 * One store-time budget per request (issue #14 item 13).
 *
 * A store's `timeout` bounds each batch, and a request has two: the read
 * batch of its load, then the write batch of its commit. Each alone fits the
 * timeout, together they took up to twice as long. So the store time of a
 * request is counted as a whole: what the load waited for the store is taken
 * off the budget (only when the store answered asynchronously: the
 * synchronous stores count nothing and arm no timer), and the commit gets
 * what is left: nothing left fails at once, before anything is sent;
 * otherwise the write is raced against the rest. The handler's own time in
 * between is not store time and is not counted (a handler that calls a slow
 * API keeps its whole write budget). The store may still apply a write the
 * request gave up on, exactly as after a batch timeout.
 *
 * Explicit `regenerate()` and `destroy()` are not counted: they are the
 * handler's own awaits, each bounded by the store's batch timeout.
 */

function spentError(name: string, budget: number): HotsessionError {
  const err = new HotsessionError(codes.STORE_TIMEOUT, `the request's session store budget (${budget} ms for load and commit) is spent`);
  publishFailure(name, 'request', 1, err);
  return err;
}

/**
 * When `s` has a budget and none of it is left: the commit's write, already
 * rejected with HOTSESSION_ERR_STORE_TIMEOUT (nothing is sent to the store);
 * else null. Called right before a commit hands a write to the store. A
 * rejected write, not a throw: an adapter that sends headers before the
 * write settles (node:http's writeHead) must still see the commit fail.
 */
export function spentWrite(name: string, s: Budgeted, budget: number | undefined): Promise<never> | null {
  if (s.budgetLeft > 0) return null;
  const write = Promise.reject(spentError(name, budget ?? 0));
  // Whoever awaits the write sees the rejection; until then it is not "unhandled".
  write.catch(() => undefined);
  return write;
}

/**
 * `write`, rejected with HOTSESSION_ERR_STORE_TIMEOUT if it takes longer
 * than what is left of `s`'s budget; the time it took is taken off it.
 */
export function withinBudget(name: string, s: Budgeted, write: Promise<void>, budget: number | undefined): Promise<void> {
  const start = Date.now();
  const spend = (): void => {
    s.budgetLeft = Math.max(0, s.budgetLeft - (Date.now() - start));
  };
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      spend();
      reject(spentError(name, budget ?? 0));
    }, s.budgetLeft);
    // The write's own batch timer keeps the process alive while it matters.
    timer.unref();
    write.then(
      () => {
        clearTimeout(timer);
        spend();
        resolve();
      },
      (err: unknown) => {
        clearTimeout(timer);
        spend();
        reject(err);
      },
    );
  });
}
