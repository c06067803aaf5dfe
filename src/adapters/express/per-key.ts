import { FLAG_CLEAR, KIND_PATCH, KIND_RECORD } from '../../codec/layout';
import { encodeValue } from '../../codec/msgpack';
import { keyAt, type RecordView } from '../../codec/record';
import { sameBytes } from '../../codec/record-keys';
import { checkKey, findEntry, valueBytes } from '../../core/record-keys';
import { giveWriter, PatchDelivery, takeWriter } from '../../core/writes';
import type { SessionStore } from '../../stores/types';

/**
 * Per-key saves for express sessions kept in a hotsession store: the
 * session is stored as a per-key record (one entry per top-level key, the
 * cookie being one of them), and a save of a session loaded from such a
 * record sends only the keys whose encoded value differs from what was
 * loaded, as a patch the store applies atomically. Two overlapping requests
 * that change different keys therefore both keep their change, as under the
 * other adapters.
 */

/**
 * What a session was loaded as: the scanned record itself (read in place,
 * as the core's Loaded does: a store never writes into a buffer it handed
 * out) and, once a save of this request landed, the keys it changed
 * (null: deleted), which win over the record.
 */
export interface Loaded {
  readonly id: string;
  readonly tag: number;
  readonly rec: Uint8Array | null;
  readonly view: RecordView | null;
  readonly over: ReadonlyMap<string, Buffer | null> | null;
}

/** A scanned RECORD `b` as loaded under `id`. */
export function snapshot(id: string, b: Uint8Array, v: RecordView): Loaded {
  return { id, tag: v.nameTag, rec: b, view: v, over: null };
}

/** Encoded value of `key` in `l`, null when `l` has none. */
function loadedValue(l: Loaded, key: string): Uint8Array | null {
  if (l.over !== null) {
    const v = l.over.get(key);
    if (v !== undefined) return v;
  }
  if (l.rec === null) return null;
  const i = findEntry(l.rec, l.view!, key);
  return i < 0 ? null : valueBytes(l.rec, l.view!, i);
}

/** Every key `l` holds. */
function loadedKeys(l: Loaded): Set<string> {
  const keys = new Set<string>();
  if (l.rec !== null) for (let i = 0; i < l.view!.count; i++) keys.add(keyAt(l.rec, l.view!, i));
  if (l.over !== null) for (const [k, v] of l.over) v === null ? keys.delete(k) : keys.add(k);
  return keys;
}

/** Number of keys `l` holds, without decoding any when nothing was saved over the record. */
function loadedCount(l: Loaded): number {
  let n = l.view === null ? 0 : l.view.count;
  if (l.over !== null) {
    for (const [k, v] of l.over) {
      const inRec = l.rec !== null && findEntry(l.rec, l.view!, k) >= 0;
      if (v === null && inRec) n--;
      else if (v !== null && !inRec) n++;
    }
  }
  return n;
}

/** One save's bytes: a whole RECORD (`patch` false), or a patch of the changed keys (null when nothing changed). */
export interface Encoded {
  readonly patch: boolean;
  readonly bytes: Buffer | null;
  /** The keys written (copies of their values; null: deleted), for {@link landed}. */
  readonly changes: Map<string, Buffer | null>;
}

/**
 * Encodes `data` (the session as the store keeps it: plain values, the
 * cookie included) against `loaded`: each value is encoded and compared
 * with the loaded bytes; only the differing keys, and the loaded keys
 * `data` no longer has, go in the patch. Without `loaded`, a RECORD of every
 * key, or with `clear` a CLEAR patch of every key (what replaces an older
 * format in place). A key no store could keep throws the core's coded error
 * (HOTSESSION_ERR_ENCODE, naming it).
 */
export function encodeSession(data: Record<string, unknown>, loaded: Loaded | undefined, createdAt: number, tag: number, clear = false): Encoded {
  const w = takeWriter();
  const changes = new Map<string, Buffer | null>();
  try {
    w.begin(loaded || clear ? KIND_PATCH : KIND_RECORD, clear ? FLAG_CLEAR : 0, 0, createdAt, tag);
    let matched = 0;
    for (const key of Object.keys(data)) {
      const before = loaded === undefined ? null : loadedValue(loaded, key);
      // A key the record already holds passed this check when it was first written.
      if (before === null) checkKey(key);
      const bytes = encodeValue(key, data[key]);
      if (before !== null) {
        matched++;
        if (before.length === bytes.length && sameBytes(before, 0, bytes, 0, bytes.length)) continue;
      }
      w.set(key, bytes);
      // encodeValue's bytes may share the encoder's buffer: copy before the next encode.
      changes.set(key, Buffer.from(bytes));
    }
    // Every loaded key was matched (the usual case): nothing was deleted, and no key is decoded to find out.
    if (loaded !== undefined && matched < loadedCount(loaded)) {
      for (const key of loadedKeys(loaded)) {
        if (!Object.hasOwn(data, key)) {
          w.delete(key);
          changes.set(key, null);
        }
      }
    }
    const bytes = loaded && w.count === 0 ? null : w.finish();
    return { patch: loaded !== undefined, bytes, changes };
  } finally {
    giveWriter(w);
  }
}

/** A patch that sets `key` alone to `value`, its header `createdAt` and `tag` (what the record it lands on keeps). */
export function keyPatch(key: string, value: unknown, createdAt: number, tag: number): Buffer {
  const w = takeWriter();
  try {
    return w.begin(KIND_PATCH, 0, 0, createdAt, tag).set(key, encodeValue(key, value)).finish();
  } finally {
    giveWriter(w);
  }
}

/** What the session is, once the save `enc` of `data` landed: the next save of the request diffs against it. */
export function landed(loaded: Loaded | undefined, id: string, tag: number, enc: Encoded): Loaded {
  if (loaded === undefined || !enc.patch) return { id, tag, rec: null, view: null, over: enc.changes };
  if (enc.changes.size === 0) return loaded;
  const over = new Map(loaded.over ?? []);
  for (const [k, v] of enc.changes) over.set(k, v);
  return { id, tag, rec: loaded.rec, view: loaded.view, over };
}

/**
 * A save's patch on its way (the core's delivery loop): after 'stale' (the
 * id holds an older record format) the session is sent once whole, as a
 * CLEAR patch; a regenerated id gets this save's changes alone.
 */
export class SavePatch extends PatchDelivery {
  readonly #data: Record<string, unknown>;
  readonly #patch: Uint8Array;
  readonly #createdAt: number;
  readonly #tag: number;

  constructor(store: SessionStore, id: string, patch: Uint8Array, ttl: number, data: Record<string, unknown>, createdAt: number, tag: number) {
    super(store, id, patch, ttl);
    this.#data = data;
    this.#patch = patch;
    this.#createdAt = createdAt;
    this.#tag = tag;
  }

  protected wholePatch(): Uint8Array {
    return encodeSession(this.#data, undefined, this.#createdAt, this.#tag, true).bytes!;
  }

  protected forwardedPatch(): Uint8Array {
    return this.#patch;
  }
}
