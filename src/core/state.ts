import { codes, HotsessionError } from '../errors';
import type { ResolvedCookieOptions } from './cookie';
import { Entries, type SentWrites } from './entries';
import {
  CHANGE, COMMIT, DESTROY, FAIL, FRESH, MODIFIED, MOVE_FAILED, MOVED, ORPHANED, PHASE_NAMES, REFUSED, REGENERATE,
  REGENERATING, step, type Event, type Phase,
} from './lifecycle';

/** What a session needs from its manager (the SessionManager). */
export interface SessionHost {
  save(state: SessionState): Promise<void>;
  regenerate(state: SessionState): Promise<void>;
  destroy(state: SessionState): Promise<void>;
  login(state: SessionState, userId: string, meta: unknown): Promise<void>;
  binding(state: SessionState): { u: string; h: string } | null;
  cookieOptions(state: SessionState, input: object): ResolvedCookieOptions;
}

/** Receives Set-Cookie values as soon as an explicit `save()` produced them. */
export type CookieSink = (setCookie: readonly string[]) => void;


function busy(what: string): HotsessionError {
  return new HotsessionError(codes.SESSION_BUSY, `${what} while regenerate() is still running: await regenerate() first`);
}

/**
 * The state of one session of one request, with one owner: every field is
 * private, every move between phases goes through `step` (lifecycle.ts).
 * This is the internal interface the manager and the adapters use; the
 * public Session is a view of it.
 */
export class SessionState {
  readonly #host: SessionHost;
  /** The session's keys and values (one object for the session's life). */
  readonly entries: Entries;
  #id: string;
  #phase: Phase;
  /** A record exists under #id. */
  #stored: boolean;
  /** The id changed after its record was written (regenerate): its cookie must go out. */
  #owesCookie = false;
  #createdAt: number;
  /** Per-response cookie options from `options()`. */
  #cookie: ResolvedCookieOptions | null = null;
  /** The request carried a cookie for this session (so clearing it means something). */
  #hadCookie: boolean;
  /** Cookie parts the request carried (client-side stores). */
  #parts: number;
  #sink: CookieSink | null = null;
  /** Set-Cookie values of explicit saves that had no sink. */
  #pending: string[] | null = null;
  /** Changes whenever the session starts over under another id: a late failure of an older commit must not touch it. */
  #epoch = 0;
  /** Store time left to this request, ms (budget.ts); Infinity: no budget (a synchronous store). */
  budgetLeft = Infinity;

  constructor(host: SessionHost, id: string, phase: Phase, createdAt: number, hadCookie: boolean, parts: number, entries: Entries) {
    this.#host = host;
    this.#id = id;
    this.#phase = phase;
    // Sessions are built FRESH (no record) or LOADED (a record).
    this.#stored = phase !== FRESH;
    this.#createdAt = createdAt;
    this.#hadCookie = hadCookie;
    this.#parts = parts;
    this.entries = entries;
  }

  get host(): SessionHost {
    return this.#host;
  }
  get id(): string {
    return this.#id;
  }
  get phase(): Phase {
    return this.#phase;
  }
  get stored(): boolean {
    return this.#stored;
  }
  get owesCookie(): boolean {
    return this.#owesCookie;
  }
  get createdAt(): number {
    return this.#createdAt;
  }
  get cookie(): ResolvedCookieOptions | null {
    return this.#cookie;
  }
  get hadCookie(): boolean {
    return this.#hadCookie;
  }
  get parts(): number {
    return this.#parts;
  }
  set parts(n: number) {
    this.#parts = n;
  }

  #to(event: Event, what: string): void {
    const next = step(this.#phase, event);
    if (next === REFUSED) {
      if (this.#phase === REGENERATING) throw busy(what);
      throw new HotsessionError(codes.SESSION_BUSY, `${what} is not allowed in phase ${PHASE_NAMES[this.#phase]}`);
    }
    this.#phase = next;
  }

  /** Data or cookie options changed. Never refused. */
  change(): void {
    const next = step(this.#phase, CHANGE);
    if (next !== REFUSED) this.#phase = next;
  }

  /** `options()`: per-response cookie options (a change). */
  setCookieOptions(o: ResolvedCookieOptions): void {
    this.#cookie = o;
    this.change();
  }

  /** Throws SESSION_BUSY when no commit may start now (regenerate() not awaited). */
  assertCommittable(): void {
    if (this.#phase === REGENERATING) throw busy('a commit');
  }

  /**
   * A commit that writes starts: its pending writes count as sent and the
   * record exists from now on. `size`: the record's estimated size after it.
   * Returns the writes it took; read `epoch`, `stored`, `owesCookie` and the
   * entries' `clearPending` and `legacy` before, for `commitFailed`. (No
   * object per commit: the common commit succeeds at once.)
   */
  commitWrite(size: number): SentWrites {
    this.#to(COMMIT, 'a commit');
    const writes = this.entries.commitStarted(size);
    this.#stored = true;
    this.#owesCookie = false;
    return writes;
  }

  /** A commit that writes no data (a touch, a cookie, nothing) ran. */
  commitOther(): void {
    this.#to(COMMIT, 'a commit');
    this.#owesCookie = false;
  }

  /**
   * The write of a commit failed (the arguments are what `commitWrite`
   * took and what was read before it): the session is modified again, unless
   * it has moved on since (destroyed, regenerated, another id).
   */
  commitFailed(epoch: number, stored: boolean, owesCookie: boolean, writes: SentWrites, clear: boolean, legacy: boolean): void {
    if (epoch !== this.#epoch) return;
    // Only a session still COMMITTED (or MODIFIED again) takes its writes back.
    if (step(this.#phase, FAIL) !== MODIFIED) return;
    this.#phase = MODIFIED;
    this.#stored = stored;
    this.#owesCookie = this.#owesCookie || owesCookie;
    this.entries.restore(writes, clear, legacy);
  }

  #restart(id: string): void {
    this.entries.reset();
    this.#id = id;
    this.#stored = false;
    this.#owesCookie = false;
    this.#createdAt = Date.now();
    this.#epoch++;
  }

  /** destroy(): the session continues empty under `id`, and the commit clears the cookie unless data is set. */
  destroyed(id: string): void {
    this.#to(DESTROY, 'destroy()');
    this.#restart(id);
  }

  /** A commit removed the session (negative maxAge, past its deadline, destroyed): empty under `id`, committed. */
  removed(id: string): void {
    this.#to(COMMIT, 'a commit');
    this.#restart(id);
  }

  /** regenerate() of a session without a record (fresh, destroyed, cookie store): only the id changes. */
  renamed(id: string): void {
    if (this.#phase === REGENERATING) throw busy('regenerate()');
    this.#id = id;
    this.#epoch++;
  }

  /** regenerate() of a stored session starts: the session is already `id`'s, not stored there yet. */
  regenerating(id: string): void {
    this.#to(REGENERATE, 'regenerate()');
    this.#id = id;
    this.#stored = false;
    this.#epoch++;
  }

  /** The new id's record was written. */
  movedIn(): void {
    this.#stored = true;
  }

  /** regenerate() ended: the session lives under its new id; changes made meanwhile are pending. */
  moved(): void {
    this.#to(MOVED, 'the end of regenerate()');
    this.#owesCookie = true;
    if (this.entries.dirty) this.change();
  }

  /** regenerate() could not write the new id: the session is unsaved under it (a commit writes it whole). */
  moveFailed(): void {
    this.#to(MOVE_FAILED, 'the end of regenerate()');
    this.#stored = false;
  }

  /** regenerate() found the old session gone meanwhile (a logout won): it starts over, empty, under `id`. */
  orphaned(id: string): void {
    this.#to(ORPHANED, 'the end of regenerate()');
    this.#restart(id);
  }

  /** Where explicit saves send their Set-Cookie values (the adapter's response). */
  set sink(sink: CookieSink | null) {
    this.#sink = sink;
  }

  /** Hands Set-Cookie values of an explicit save to the sink, or keeps them for the next commit. */
  deliver(headers: readonly string[]): void {
    if (headers.length === 0) return;
    if (this.#sink !== null) this.#sink(headers);
    else this.#pending = this.#pending === null ? [...headers] : [...this.#pending, ...headers];
  }

  /** Set-Cookie values kept by explicit saves. */
  get hasPending(): boolean {
    return this.#pending !== null;
  }

  /** The kept Set-Cookie values (then forgotten). */
  takePending(): readonly string[] | null {
    const p = this.#pending;
    this.#pending = null;
    return p;
  }

  /** Changes whenever the session starts over or moves to another id. */
  get epoch(): number {
    return this.#epoch;
  }
}
