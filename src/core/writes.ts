import { FLAG_CLEAR, KIND_PATCH, KIND_RECORD } from '../codec/layout';
import { RecordWriter } from '../codec/record';
import { codes, HotsessionError } from '../errors';
import type { MaybePromise, PatchOutcome, SessionStore } from '../stores/types';
import { Entries } from './entries';
import type { SentWrites } from './entries';
import type { SessionState } from './state';

/**
 * Turning commits into store writes: the shared record writer, the size
 * rule, and the delivery of a patch (what the core does with each outcome).
 */

const shared = new RecordWriter();
let sharedBusy = false;

/**
 * The module's writer, or a new one when it is in use (a value's getter
 * that commits another session while this one is being encoded).
 */
export function takeWriter(): RecordWriter {
  if (sharedBusy) return new RecordWriter();
  sharedBusy = true;
  return shared;
}

export function giveWriter(w: RecordWriter): void {
  if (w === shared) sharedBusy = false;
}

/** The coded error for a commit whose record would pass the store's `maxRecordSize`. */
export function tooLarge(size: number, max: number): HotsessionError {
  return new HotsessionError(codes.RECORD_TOO_LARGE, `the session record would be about ${size} bytes, more than the store's maxRecordSize of ${max}`);
}

/**
 * What a commit of `s` sends, its header being `expiresAt`, the session's
 * createdAt and `tag` (layout.ts): with `whole`, a RECORD of every key (a
 * new session, a store that cannot patch); for a session loaded from a v1
 * or legacy record, a CLEAR patch of every key (the upgrade); else a patch
 * of this request's changes. Unchanged v2 values travel as their bytes.
 */
export function commitBytes(s: SessionState, whole: boolean, expiresAt: number, tag: number): Buffer {
  const e = s.entries;
  const w = takeWriter();
  try {
    if (whole) {
      w.begin(KIND_RECORD, 0, expiresAt, s.createdAt, tag);
      e.writeAll(w);
    } else if (e.legacy) {
      w.begin(KIND_PATCH, FLAG_CLEAR, expiresAt, s.createdAt, tag);
      e.writeAll(w);
    } else {
      w.begin(KIND_PATCH, e.clearPending ? FLAG_CLEAR : 0, expiresAt, s.createdAt, tag);
      e.writeDelta(w);
    }
    return w.finish();
  } finally {
    giveWriter(w);
  }
}

/** Most FORWARD markers one patch follows (a session regenerated again and again within the grace window). */
export const MAX_HOPS = 4;

function isPromise<T>(v: MaybePromise<T>): v is Promise<T> {
  return typeof (v as Promise<T> | null)?.then === 'function';
}

function movedTo(outcome: PatchOutcome): string | null {
  if (outcome === null || typeof outcome !== 'object') return null;
  const to = (outcome as { movedTo?: unknown }).movedTo;
  return typeof to === 'string' && to.length > 0 ? to : null;
}

/**
 * Writes the keys one commit sent as a patch of their own: what is
 * redirected to a regenerated session when the commit had to carry the whole
 * session (an upgrade, a stale resend).
 */
function sentPatch(writes: SentWrites, clear: boolean, expiresAt: number, createdAt: number, tag: number): Buffer {
  const w = takeWriter();
  try {
    w.begin(KIND_PATCH, clear ? FLAG_CLEAR : 0, expiresAt, createdAt, tag);
    if (writes !== null) Entries.writeWrites(w, writes, clear);
    return w.finish();
  } finally {
    giveWriter(w);
  }
}

/** The session's whole view as a CLEAR patch (a store answered 'stale': it holds no v2 record). */
function wholePatch(s: SessionState, expiresAt: number, createdAt: number, tag: number): Buffer {
  const w = takeWriter();
  try {
    w.begin(KIND_PATCH, FLAG_CLEAR, expiresAt, createdAt, tag);
    s.entries.writeAll(w);
    return w.finish();
  } finally {
    giveWriter(w);
  }
}

/**
 * One patch on its way, for outcomes other than a synchronous 'ok' (the
 * common case needs no delivery): follows FORWARD markers to the session's
 * new id (bounded), resends the session whole once when the store holds no
 * v2 record, and stops on 'gone' (a destroyed or expired session stays
 * dead). The sender says which bytes each of those sends carries: the core
 * commit (PatchJob) and hotsession/express's save share this loop.
 */
export abstract class PatchDelivery {
  readonly #store: SessionStore;
  readonly #ttl: number;
  #id: string;
  #bytes: Uint8Array;
  #hops = 0;
  /** The session was resent whole once (a 'stale' answer). */
  protected resent = false;

  constructor(store: SessionStore, id: string, bytes: Uint8Array, ttl: number) {
    this.#store = store;
    this.#id = id;
    this.#bytes = bytes;
    this.#ttl = ttl;
  }

  /** The whole session as a CLEAR patch, for the one resend after 'stale'. */
  protected abstract wholePatch(): Uint8Array;

  /** What goes on to a regenerated session: the sender's own changes, never a whole old view. */
  protected abstract forwardedPatch(sent: Uint8Array): Uint8Array;

  /** Handles `outcome` (the store's answer to the last patch sent) until the patch has landed or cannot. */
  run(outcome: MaybePromise<PatchOutcome>): MaybePromise<void> {
    for (;;) {
      if (isPromise(outcome)) return outcome.then((o) => this.run(o));
      if (outcome === 'ok' || outcome === 'gone') return undefined;
      if (outcome === 'stale') {
        // Only the id the session was loaded from can be resent whole: a moved-to
        // id is a v2 record regenerate() wrote, and a second stale means another
        // writer keeps putting old records there.
        if (this.#hops > 0 || this.resent) return undefined;
        this.resent = true;
        this.#bytes = this.wholePatch();
      } else {
        const to = movedTo(outcome);
        if (to === null) throw new HotsessionError(codes.STORE, `the store answered a patch with ${JSON.stringify(outcome)}`);
        if (++this.#hops > MAX_HOPS) return undefined;
        this.#bytes = this.forwardedPatch(this.#bytes);
        this.#id = to;
      }
      outcome = this.#store.patch(this.#id, this.#bytes, this.#ttl);
    }
  }
}

/** A core commit's patch on its way (manager.ts). */
export class PatchJob extends PatchDelivery {
  readonly #s: SessionState;
  /** What the commit sent (its writes, CLEAR, whether it carried the whole session as an upgrade). */
  readonly #writes: SentWrites;
  readonly #clear: boolean;
  readonly #whole: boolean;
  readonly #expiresAt: number;
  readonly #createdAt: number;
  readonly #tag: number;

  constructor(
    store: SessionStore, s: SessionState, writes: SentWrites, clear: boolean, whole: boolean,
    id: string, bytes: Uint8Array, ttl: number, expiresAt: number, createdAt: number, tag: number,
  ) {
    super(store, id, bytes, ttl);
    this.#s = s;
    this.#writes = writes;
    this.#clear = clear;
    this.#whole = whole;
    this.#expiresAt = expiresAt;
    this.#createdAt = createdAt;
    this.#tag = tag;
  }

  protected wholePatch(): Uint8Array {
    return wholePatch(this.#s, this.#expiresAt, this.#createdAt, this.#tag);
  }

  protected forwardedPatch(sent: Uint8Array): Uint8Array {
    return this.#whole || this.resent ? sentPatch(this.#writes, this.#clear, this.#expiresAt, this.#createdAt, this.#tag) : sent;
  }
}
