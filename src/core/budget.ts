import { publishFailure } from '../diagnostics';
import { codes, HotsessionError } from '../errors';
import type { SessionState } from './state';

/**
 * One store-time budget per request (issue #14 item 13).
 *
 * A store's `timeout` bounds each batch, and a request has two: the read
 * batch of its load, then the write batch of its commit. Each alone fits the
 * timeout, together they took up to twice as long. So the load starts a
 * deadline (only when the store answered asynchronously: the synchronous
 * stores start no clock and arm no timer), and the commit gets what is left
 * of it: nothing left fails at once, before anything is sent; otherwise the
 * write is raced against the rest. The store may still apply a write the
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
 * Throws HOTSESSION_ERR_STORE_TIMEOUT when `s` has a deadline that passed.
 * Called right before a commit hands a write to the store.
 */
export function assertBudgetLeft(name: string, s: SessionState, budget: number | undefined): void {
  const deadline = s.deadline;
  if (deadline !== 0 && Date.now() >= deadline) throw spentError(name, budget ?? 0);
}

/** `write`, rejected with HOTSESSION_ERR_STORE_TIMEOUT if it is not settled by `deadline`. */
export function withinBudget(name: string, write: Promise<void>, deadline: number, budget: number | undefined): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(spentError(name, budget ?? 0)), Math.max(0, deadline - Date.now()));
    // The write's own batch timer keeps the process alive while it matters.
    timer.unref();
    write.then(
      () => {
        clearTimeout(timer);
        resolve();
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}
