import { codec } from '../codec';
import type { PatchOutcome } from './types';

/**
 * How two writes to one session, queued behind each other, become one
 * (see WriteBatcher). Each caller still learns what happened to its own
 * write: a waiter keeps the kind it asked for, and its result is read off
 * whatever op finally went to the backend.
 */

/** One write as the backend sees it. */
export interface WriteOp {
  kind: 'set' | 'patch' | 'touch' | 'destroy' | 'forward';
  id: string;
  /** set: the record; patch: the PATCH (codec/layout.ts); forward: the FORWARD marker; else null. */
  bytes: Uint8Array | null;
  /** set/patch/touch: lifetime from now in ms; forward: the marker's grace in ms; destroy: 0. */
  ttlMs: number;
}

/** What a waiter of `kind` gets when the op that carried its write settled with `result`. */
export function resultFor(kind: WriteOp['kind'], final: WriteOp['kind'], result: unknown): unknown {
  if (kind === 'patch') {
    if (final === 'patch') return (result ?? 'ok') as PatchOutcome;
    // Superseded by a later whole write (landed) or by a destroy (never applied).
    return final === 'set' ? 'ok' : 'gone';
  }
  if (kind === 'forward') return result ?? null;
  return undefined;
}

/**
 * What a write queued behind a pending `destroy` of the same id returns: the
 * destroy wins (a logout is never undone by a write racing it).
 */
export function absorbedByDestroy(kind: WriteOp['kind']): unknown {
  if (kind === 'patch') return 'gone';
  if (kind === 'forward') return null;
  return undefined;
}

/** `next` folded into `prev` (prev is mutated) when both can travel as one op. */
export type Coalesced = 'merged' | 'stale' | 'absorbed' | 'separate';

/**
 * Folds `next` into `prev`, the op queued before it for the same id:
 * - a destroy absorbs everything after it;
 * - a forward never merges (what follows must see the marker);
 * - set then set/destroy: the later replaces; set then touch: the set's TTL moves;
 *   set then patch: the patch is applied to the queued record (or the patch is
 *   'stale' when that record is not v2, as the backend would answer);
 * - patch then patch: merged (layout.ts makes merging exact); patch then touch:
 *   the TTL moves; patch then set/destroy: the later replaces;
 * - touch then anything but forward: the later replaces (it carries a TTL too).
 */
export function coalesce(prev: WriteOp, next: WriteOp): Coalesced {
  if (prev.kind === 'destroy') return 'absorbed';
  if (prev.kind === 'forward' || next.kind === 'forward') return 'separate';
  if (next.kind === 'touch') {
    prev.ttlMs = next.ttlMs;
    return 'merged';
  }
  if (next.kind === 'patch' && prev.kind === 'set') {
    const applied = codec.apply(prev.bytes, next.bytes!);
    if (applied === null) return 'stale';
    prev.bytes = applied;
    prev.ttlMs = next.ttlMs;
    return 'merged';
  }
  if (next.kind === 'patch' && prev.kind === 'patch') {
    const merged = codec.merge(prev.bytes!, next.bytes!);
    if (merged === null) return 'separate';
    prev.bytes = merged;
    prev.ttlMs = next.ttlMs;
    return 'merged';
  }
  // set, destroy, or a patch after a touch: the later op replaces the earlier.
  prev.kind = next.kind;
  prev.bytes = next.bytes;
  prev.ttlMs = next.ttlMs;
  return 'merged';
}
