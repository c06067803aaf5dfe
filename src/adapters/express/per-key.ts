import { KIND_PATCH, KIND_RECORD } from '../../codec/layout';
import { encodeValue } from '../../codec/msgpack';
import { keyAt, type RecordView } from '../../codec/record';
import { checkKey, valueBytes } from '../../core/record-keys';
import { giveWriter, MAX_HOPS, takeWriter } from '../../core/writes';
import type { MaybePromise, PatchOutcome, SessionStore } from '../../stores/types';

/**
 * Per-key saves for express sessions kept in a hotsession store: the
 * session is stored as a per-key record (one entry per top-level key, the
 * cookie being one of them), and a save of a session loaded from such a
 * record sends only the keys whose encoded value differs from what was
 * loaded, as a patch the store applies atomically. Two overlapping requests
 * that change different keys therefore both keep their change, as under the
 * other adapters.
 */

/** What a session was loaded as: its id and the encoded value of each key. */
export interface Loaded {
  readonly id: string;
  readonly tag: number;
  values: Map<string, Buffer>;
}

/** The snapshot of a scanned RECORD `b` (values copied: the record buffer may be reused). */
export function snapshot(id: string, b: Uint8Array, v: RecordView): Loaded {
  const values = new Map<string, Buffer>();
  for (let i = 0; i < v.count; i++) values.set(keyAt(b, v, i), Buffer.from(valueBytes(b, v, i)));
  return { id, tag: v.nameTag, values };
}

/** One save's bytes: a whole RECORD (`patch` false), or a patch of the changed keys (null when nothing changed). */
export interface Encoded {
  readonly patch: boolean;
  readonly bytes: Buffer | null;
  /** The encoded value of every key, the snapshot once the save landed. */
  readonly values: Map<string, Buffer>;
}

/**
 * Encodes `data` (the session as the store keeps it: plain values, the
 * cookie included) against `loaded`. A key no store could keep throws the
 * core's coded error (HOTSESSION_ERR_ENCODE, naming it).
 */
export function encodeSession(data: Record<string, unknown>, loaded: Loaded | undefined, createdAt: number, tag: number): Encoded {
  const w = takeWriter();
  const values = new Map<string, Buffer>();
  try {
    w.begin(loaded ? KIND_PATCH : KIND_RECORD, 0, 0, createdAt, tag);
    for (const key of Object.keys(data)) {
      checkKey(key);
      const bytes = encodeValue(key, data[key]);
      const before = loaded?.values.get(key);
      // encodeValue's bytes may share the encoder's buffer: copy before the next encode.
      const copy = Buffer.from(bytes);
      values.set(key, copy);
      if (before === undefined || !before.equals(copy)) w.set(key, copy);
    }
    if (loaded) for (const key of loaded.values.keys()) if (!values.has(key)) w.delete(key);
    const bytes = loaded && w.count === 0 ? null : w.finish();
    return { patch: loaded !== undefined, bytes, values };
  } finally {
    giveWriter(w);
  }
}

function isPromise<T>(v: MaybePromise<T>): v is Promise<T> {
  return typeof (v as Promise<T> | null)?.then === 'function';
}

/**
 * Sends a patch and follows the store's answer: 'ok' and 'gone' (a
 * destroyed or expired session stays dead) end it; a FORWARD marker sends
 * it on to the new id (at most the core's MAX_HOPS); 'stale' (the id holds
 * an older record format) calls `whole` once for a RECORD to `set` instead.
 */
export function deliver(store: SessionStore, id: string, patch: Buffer, ttl: number, whole: () => Buffer): MaybePromise<void> {
  let hops = 0;
  const step = (outcome: PatchOutcome): MaybePromise<void> => {
    for (;;) {
      if (outcome === 'ok' || outcome === 'gone') return undefined;
      if (outcome === 'stale') return store.set(id, whole(), ttl);
      if (++hops > MAX_HOPS) return undefined;
      id = outcome.movedTo;
      const next = store.patch(id, patch, ttl);
      if (isPromise(next)) return next.then(step);
      outcome = next;
    }
  };
  const first = store.patch(id, patch, ttl);
  return isPromise(first) ? first.then(step) : step(first);
}
