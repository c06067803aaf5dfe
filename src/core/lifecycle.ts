/**
 * The lifecycle of one session of one request: the only place that decides
 * which phase follows which. SessionState (state.ts) holds the phase and
 * asks `step` for every move; everything else reads the phase.
 *
 * ```
 *   load ──► FRESH (no record) or LOADED (a record)
 *
 *   FRESH, LOADED, COMMITTED, REGENERATED, DESTROYED ── change ──► MODIFIED
 *   FRESH, LOADED, MODIFIED, DESTROYED, REGENERATED ── commit ──► COMMITTED
 *   COMMITTED ── commit ──► COMMITTED (nothing changed: no write)
 *   COMMITTED, MODIFIED ── the commit's write failed ──► MODIFIED
 *   anything but REGENERATING ── destroy() ──► DESTROYED (new id, empty)
 *   LOADED, MODIFIED, COMMITTED, REGENERATED ── regenerate() ──► REGENERATING
 *   REGENERATING ── moved ──► REGENERATED      (the new id holds the session)
 *                ── move failed ──► MODIFIED   (unsaved under the new id)
 *                ── orphaned ──► DESTROYED     (a logout won the race)
 * ```
 *
 * Phases are small integers (hot-path objects keep one shape; no enums).
 */

/** No record under the id and nothing to write (a new, untouched session). */
export const FRESH = 0;
/** Loaded from the store, unchanged. */
export const LOADED = 1;
/** Something changed that the next commit writes. */
export const MODIFIED = 2;
/** This response's commit ran and nothing changed since: another commit does nothing. */
export const COMMITTED = 3;
/** destroy() ran: the record is deleted; the commit clears the cookie unless new data is set. */
export const DESTROYED = 4;
/** regenerate() is moving the session to a new id: commits, destroy() and regenerate() are refused. */
export const REGENERATING = 5;
/** The session lives under a new id (stored there); the commit sends the new cookie. */
export const REGENERATED = 6;

export type Phase = 0 | 1 | 2 | 3 | 4 | 5 | 6;

/** set, delete, clear, addFlash, flashes, options. */
export const CHANGE = 0;
/** A commit starts (prepare). */
export const COMMIT = 1;
/** The write of the last commit failed: its changes are pending again. */
export const FAIL = 2;
/** destroy(). */
export const DESTROY = 3;
/** regenerate() of a stored session starts. */
export const REGENERATE = 4;
/** regenerate() finished: the session lives under its new id. */
export const MOVED = 5;
/** regenerate() could not write the new id: the session is unsaved under its new id. */
export const MOVE_FAILED = 6;
/** regenerate() found the old session gone (logged out, expired): the session starts over, empty. */
export const ORPHANED = 7;

export type Event = 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7;

/** What `step` answers for a move the phase does not allow. */
export const REFUSED = -1;

const X = REFUSED;
const _ = -2; // "stays where it is" (a no-op), resolved by `step`

/*
 * Rows: phase; columns: event (CHANGE, COMMIT, FAIL, DESTROY, REGENERATE, MOVED, MOVE_FAILED, ORPHANED).
 * - CHANGE during REGENERATING stays REGENERATING: the change waits as a pending
 *   write and the phase becomes MODIFIED when the move ends (SessionState.moved).
 * - COMMIT of a COMMITTED session is a no-op (nothing changed since), and refused
 *   while REGENERATING (the handler did not await regenerate()).
 * - FAIL only matters after a commit: COMMITTED (or MODIFIED again) becomes
 *   MODIFIED; in any other phase the failed write was for a session that has
 *   moved on (destroyed, regenerated) and nothing changes.
 * - REGENERATE starts only from a phase with a stored record (LOADED, MODIFIED,
 *   COMMITTED, REGENERATED); FRESH and DESTROYED sessions have none, so their
 *   regenerate() only renames them and stays put.
 * - MOVED, MOVE_FAILED and ORPHANED end a REGENERATING phase and nothing else.
 */
// prettier-ignore
const TABLE = Int8Array.from([
  /* FRESH        */ MODIFIED, COMMITTED, _,        DESTROYED, _,            X,           X,        X,
  /* LOADED       */ MODIFIED, COMMITTED, _,        DESTROYED, REGENERATING, X,           X,        X,
  /* MODIFIED     */ MODIFIED, COMMITTED, MODIFIED, DESTROYED, REGENERATING, X,           X,        X,
  /* COMMITTED    */ MODIFIED, _,         MODIFIED, DESTROYED, REGENERATING, X,           X,        X,
  /* DESTROYED    */ MODIFIED, COMMITTED, _,        _,         _,            X,           X,        X,
  /* REGENERATING */ _,        X,         _,        X,         X,            REGENERATED, MODIFIED, DESTROYED,
  /* REGENERATED  */ MODIFIED, COMMITTED, _,        DESTROYED, REGENERATING, X,           X,        X,
]);

const EVENTS = 8;

/** The phase after `event` in `phase`; the same phase for a no-op; REFUSED when the move is illegal. */
export function step(phase: Phase, event: Event): Phase | typeof REFUSED {
  const next = TABLE[phase * EVENTS + event]!;
  return next === _ ? phase : (next as Phase | typeof REFUSED);
}

/** Names for messages and tests. */
export const PHASE_NAMES = ['FRESH', 'LOADED', 'MODIFIED', 'COMMITTED', 'DESTROYED', 'REGENERATING', 'REGENERATED'] as const;
export const EVENT_NAMES = ['CHANGE', 'COMMIT', 'FAIL', 'DESTROY', 'REGENERATE', 'MOVED', 'MOVE_FAILED', 'ORPHANED'] as const;
