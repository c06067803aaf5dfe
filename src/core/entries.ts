import { RECORD_HEADER } from '../codec/layout';
import { decodeData, encodeValue, INVALID } from '../codec/msgpack';
import { keyAt, type RecordView, type RecordWriter } from '../codec/record';
import { checkKey, entryBytes, findEntry, keyProblem, valueAt } from './record-keys';

/** An overlay value that means "deleted in this request". */
const DELETED: unique symbol = Symbol('hotsession.deleted');
/** A cached decoded `undefined` (a hole in the cache means "not decoded yet"). */
const UNDEF: unique symbol = Symbol('hotsession.undefined');

type Overlay = Map<string, unknown>;

/** What a request loaded, kept for regenerate()'s comparison with what the old id holds later. */
export interface LoadedBase {
  rec: Uint8Array | null;
  view: RecordView | null;
  obj: Record<string, unknown> | null;
}

/** The writes a commit took (value or DELETED per key), handed back if its write fails. */
export type SentWrites = ReadonlyMap<string, unknown> | null;

/**
 * The keys and values of one session in one request: a base (what was
 * loaded) under two overlays of this request's own writes.
 *
 * - The base is a scanned v2 record (a value is decoded on its first `get`,
 *   never before, and an unchanged value is never re-encoded: a commit copies
 *   its bytes or leaves it out), or a plain object (a v1 frame's body,
 *   decoded on first use; a record a store decoded; a cookie store's data).
 * - `#over` holds the writes since the last commit (a value, or DELETED), in
 *   the order of their last write; `#done` the writes earlier commits of this
 *   request already sent. A commit turns `#over` into a patch.
 * - `clear()` hides the base and the earlier writes.
 *
 * Key order (`keys()`, whole records) is the record's: base entries not
 * written in this request, in record order, then this request's writes from
 * least to most recently written, which is the order the store's apply gives
 * (src/codec/layout.ts).
 */
export class Entries {
  #rec: Uint8Array | null = null;
  #view: RecordView | null = null;
  /** Decoded base values by entry index (holes: not decoded yet). */
  #cache: unknown[] | null = null;
  #obj: Record<string, unknown> | null = null;
  /** A v1 body waiting to be decoded into `#obj`. */
  #body: Uint8Array | null = null;
  /** The store holds no v2 record yet: the next write carries every key under CLEAR (the upgrade). */
  #legacy = false;
  /** clear() ran in this request: the base and earlier writes are gone. */
  #hidden = false;
  #done: Overlay | null = null;
  #over: Overlay | null = null;
  /** clear() ran since the last commit: the next patch has CLEAR. */
  #clear = false;
  /** Keys clear() removed since the last commit (for changes()). */
  #cleared: string[] | null = null;
  /** Estimated bytes of the stored record (for maxRecordSize). */
  #size = 0;

  /** A v2 RECORD as the base. */
  loadRecord(rec: Uint8Array, view: RecordView): this {
    this.#rec = rec;
    this.#view = view;
    this.#size = rec.length;
    return this;
  }

  /** A v1 frame's msgpack body as the base, decoded on first use; the next write upgrades it. */
  loadBody(body: Uint8Array): this {
    this.#body = body;
    this.#legacy = true;
    return this;
  }

  /** A plain object as the base; `legacy`: it came from a store (the next write upgrades it). */
  loadObject(obj: Record<string, unknown>, legacy: boolean): this {
    this.#obj = obj;
    this.#legacy = legacy;
    return this;
  }

  /** Back to an empty session. */
  reset(): void {
    this.#rec = null;
    this.#view = null;
    this.#cache = null;
    this.#obj = null;
    this.#body = null;
    this.#legacy = false;
    this.#hidden = false;
    this.#done = null;
    this.#over = null;
    this.#clear = false;
    this.#cleared = null;
    this.#size = 0;
  }

  /** The base as an object (v1 bodies decode here; garbage is an empty session, as a bad record is). */
  #object(): Record<string, unknown> | null {
    const body = this.#body;
    if (body !== null) {
      this.#obj = decodeData(body) ?? {};
      this.#body = null;
    }
    return this.#obj;
  }

  /** Base entry `i` decoded once (UNDEF for undefined, INVALID when it does not decode). */
  #decoded(i: number): unknown {
    const cache = (this.#cache ??= new Array(this.#view!.count));
    let v = cache[i];
    if (v === undefined) {
      v = valueAt(this.#rec!, this.#view!, i);
      cache[i] = v === undefined ? UNDEF : v;
    }
    return v;
  }

  #baseValue(key: string): unknown {
    const rec = this.#rec;
    if (rec !== null) {
      const i = findEntry(rec, this.#view!, key);
      if (i < 0) return undefined;
      const v = this.#decoded(i);
      // A value that does not decode reads as absent (and travels on as its bytes).
      return v === UNDEF || v === INVALID ? undefined : v;
    }
    const obj = this.#object();
    return obj !== null && Object.hasOwn(obj, key) ? obj[key] : undefined;
  }

  /** The value under `key`, or undefined. */
  get(key: string): unknown {
    let m = this.#over;
    if (m !== null) {
      const v = m.get(key);
      if (v !== undefined) return v === DELETED ? undefined : v;
      if (m.has(key)) return undefined;
    }
    m = this.#done;
    if (m !== null) {
      const v = m.get(key);
      if (v !== undefined) return v === DELETED ? undefined : v;
      if (m.has(key)) return undefined;
    }
    return this.#hidden ? undefined : this.#baseValue(key);
  }

  /** True when `key` is set (a stored value that does not decode counts: it can be deleted). */
  has(key: string): boolean {
    let m = this.#over;
    if (m !== null && m.has(key)) return m.get(key) !== DELETED;
    m = this.#done;
    if (m !== null && m.has(key)) return m.get(key) !== DELETED;
    if (this.#hidden) return false;
    const rec = this.#rec;
    if (rec !== null) return findEntry(rec, this.#view!, key) >= 0;
    const obj = this.#object();
    return obj !== null && Object.hasOwn(obj, key);
  }

  set(key: string, value: unknown): void {
    const over = (this.#over ??= new Map());
    // Re-inserted so the overlay stays in order of last write.
    over.delete(key);
    over.set(key, value);
  }

  /** Deletes `key`; false (and nothing recorded) when it was not set. */
  delete(key: string): boolean {
    if (!this.has(key)) return false;
    const over = (this.#over ??= new Map());
    over.delete(key);
    over.set(key, DELETED);
    return true;
  }

  clear(): void {
    const gone = this.#cleared ?? [];
    const over = this.#over;
    if (over !== null) for (const [k, v] of over) if (v === DELETED && !gone.includes(k)) gone.push(k);
    for (const k of this.keys()) if (!gone.includes(k)) gone.push(k);
    this.#cleared = gone;
    this.#hidden = true;
    this.#done = null;
    this.#over = null;
    this.#clear = true;
  }

  #shadowed(key: string): boolean {
    return (this.#over !== null && this.#over.has(key)) || (this.#done !== null && this.#done.has(key));
  }

  /** Every key set, least recently written first. */
  keys(): string[] {
    const out: string[] = [];
    const over = this.#over;
    const done = this.#done;
    if (!this.#hidden) {
      const rec = this.#rec;
      if (rec !== null) {
        const view = this.#view!;
        for (let i = 0; i < view.count; i++) {
          const k = keyAt(rec, view, i);
          if (!this.#shadowed(k)) out.push(k);
        }
      } else {
        const obj = this.#object();
        if (obj !== null) for (const k of Object.keys(obj)) if (!this.#shadowed(k)) out.push(k);
      }
    }
    if (done !== null) for (const [k, v] of done) if (v !== DELETED && (over === null || !over.has(k))) out.push(k);
    if (over !== null) for (const [k, v] of over) if (v !== DELETED) out.push(k);
    return out;
  }

  /** Keys set and deleted since the last commit, and whether clear() ran. */
  changes(): { changed: string[]; deleted: string[]; cleared: boolean } {
    const changed: string[] = [];
    const deleted: string[] = [];
    const over = this.#over;
    if (over !== null) for (const [k, v] of over) (v === DELETED ? deleted : changed).push(k);
    const cleared = this.#cleared;
    if (cleared !== null) {
      const gone = cleared.filter((k) => over === null || !over.has(k) || over.get(k) === DELETED);
      for (const k of deleted) if (!gone.includes(k)) gone.push(k);
      return { changed, deleted: gone, cleared: this.#clear };
    }
    return { changed, deleted, cleared: this.#clear };
  }

  /** The store holds no v2 record for this session yet (a v1 frame, a legacy record). */
  get legacy(): boolean {
    return this.#legacy;
  }

  /** clear() ran since the last commit. */
  get clearPending(): boolean {
    return this.#clear;
  }

  /** Writes are waiting for a commit. */
  get dirty(): boolean {
    return this.#clear || (this.#over !== null && this.#over.size > 0);
  }

  /** Keys this request wrote (null: all of them, clear() ran). */
  touched(): Set<string> | null {
    if (this.#hidden) return null;
    const out = new Set<string>();
    if (this.#done !== null) for (const k of this.#done.keys()) out.add(k);
    if (this.#over !== null) for (const k of this.#over.keys()) out.add(k);
    return out;
  }

  /** What was loaded (v1 bodies decoded). */
  loaded(): LoadedBase {
    return { rec: this.#rec, view: this.#view, obj: this.#rec === null ? this.#object() : null };
  }

  /**
   * Writes every key into `w` (begun by the caller, as a RECORD or a CLEAR
   * patch): unchanged v2 entries as their bytes, everything else encoded.
   * Keys of a loaded object that no store can keep are left out; keys the
   * handler set are checked (a coded error names a bad one).
   */
  writeAll(w: RecordWriter): void {
    const over = this.#over;
    const done = this.#done;
    if (!this.#hidden) {
      const rec = this.#rec;
      if (rec !== null) {
        const view = this.#view!;
        const plain = over === null && done === null;
        for (let i = 0; i < view.count; i++) if (plain || !this.#shadowed(keyAt(rec, view, i))) w.copy(rec, view, i);
      } else {
        const obj = this.#object();
        if (obj !== null) {
          for (const k of Object.keys(obj)) {
            if (this.#shadowed(k) || keyProblem(k) !== null) continue;
            w.set(k, encodeValue(k, obj[k]));
          }
        }
      }
    }
    if (done !== null) {
      for (const [k, v] of done) {
        if (v === DELETED || (over !== null && over.has(k))) continue;
        checkKey(k);
        w.set(k, encodeValue(k, v));
      }
    }
    if (over !== null) {
      for (const [k, v] of over) {
        if (v === DELETED) continue;
        checkKey(k);
        w.set(k, encodeValue(k, v));
      }
    }
  }

  /**
   * Writes the changes since the last commit into `w` (a patch begun by the
   * caller, with CLEAR when `clearPending`). Returns the bytes to add to the
   * patch's length for an estimate of the record after it: base entries the
   * patch replaces come off, deletions add nothing.
   */
  writeDelta(w: RecordWriter): number {
    const over = this.#over;
    if (over === null) return 0;
    const clear = this.#clear;
    // Base entries still counted in #size: not hidden, and not replaced by an earlier commit.
    const rec = this.#hidden ? null : this.#rec;
    const done = this.#done;
    let adjust = 0;
    for (const [k, v] of over) {
      if (v === DELETED && keyProblem(k) !== null) continue; // no store holds it: nothing to delete
      checkKey(k);
      if (rec !== null && (done === null || !done.has(k))) {
        const i = findEntry(rec, this.#view!, k);
        if (i >= 0) adjust -= entryBytes(this.#view!, i);
      }
      if (v === DELETED) {
        // Under CLEAR nothing is left to delete.
        if (!clear) {
          w.delete(k);
          adjust -= 6 + Buffer.byteLength(k, 'utf8');
        }
      } else {
        w.set(k, encodeValue(k, v));
      }
    }
    return adjust;
  }

  /** Writes a commit's `writes` (from `commitStarted`) as patch entries; deletions are left out under CLEAR. */
  static writeWrites(w: RecordWriter, writes: ReadonlyMap<string, unknown>, clear: boolean): void {
    for (const [k, v] of writes) {
      if (v !== DELETED) {
        checkKey(k);
        w.set(k, encodeValue(k, v));
      } else if (!clear && keyProblem(k) === null) {
        w.delete(k);
      }
    }
  }

  /** Estimated record size after a patch of `patchBytes` whose writeDelta returned `adjust`. */
  estimate(patchBytes: number, adjust: number): number {
    return (this.#clear ? RECORD_HEADER : this.#size) + patchBytes - RECORD_HEADER + adjust;
  }

  /**
   * A commit took the pending writes: they count as written from now on
   * (the session's view does not change). Returns them, for `restore` if
   * the write fails (read `clearPending` and `legacy` before).
   */
  commitStarted(size: number): SentWrites {
    const over = this.#over;
    if (over !== null) {
      if (this.#done === null) this.#done = over;
      else {
        // A fresh map: an earlier commit's failure handler may still hold the old one.
        const done = new Map(this.#done);
        for (const [k, v] of over) {
          done.delete(k);
          done.set(k, v);
        }
        this.#done = done;
      }
    }
    this.#over = null;
    this.#clear = false;
    this.#cleared = null;
    this.#legacy = false;
    this.#size = size;
    return over;
  }

  /** A commit's write failed: its writes are pending again, before any made since. */
  restore(writes: SentWrites, clear: boolean, legacy: boolean): void {
    if (writes !== null) {
      const over = this.#over;
      if (over === null) this.#over = new Map(writes);
      else {
        const merged: Overlay = new Map();
        for (const [k, v] of writes) if (!over.has(k)) merged.set(k, v);
        for (const [k, v] of over) merged.set(k, v);
        this.#over = merged;
      }
    }
    if (clear) this.#clear = true;
    if (legacy) this.#legacy = true;
  }

  /**
   * The session's whole view was written as `rec` (regenerate): it becomes
   * the base, with nothing pending.
   */
  adopt(rec: Uint8Array, view: RecordView): void {
    this.reset();
    this.loadRecord(rec, view);
  }

  /** `rec` replaces the base; writes made since stay on top of it. */
  rebase(rec: Uint8Array, view: RecordView): void {
    this.#rec = rec;
    this.#view = view;
    this.#cache = null;
    this.#obj = null;
    this.#body = null;
    this.#size = rec.length;
  }

  /**
   * The whole view as a plain object (a cookie store seals it): the base
   * object itself when nothing was written, else a new object.
   */
  toObject(): Record<string, unknown> {
    const over = this.#over;
    const done = this.#done;
    if (!this.#hidden && over === null && done === null && this.#rec === null) {
      const obj = this.#object();
      if (obj !== null) return obj;
    }
    const out: Record<string, unknown> = {};
    if (!this.#hidden) {
      const rec = this.#rec;
      if (rec !== null) {
        const view = this.#view!;
        for (let i = 0; i < view.count; i++) {
          const k = keyAt(rec, view, i);
          if (this.#shadowed(k)) continue;
          const v = this.#decoded(i);
          if (v !== INVALID) out[k] = v === UNDEF ? undefined : v;
        }
      } else {
        const obj = this.#object();
        if (obj !== null) for (const k of Object.keys(obj)) if (!this.#shadowed(k) && keyProblem(k) === null) out[k] = obj[k];
      }
    }
    // checkKey before assigning: `out['__proto__'] = v` would set the prototype.
    if (done !== null) {
      for (const [k, v] of done) {
        if (v === DELETED || (over !== null && over.has(k))) continue;
        checkKey(k);
        out[k] = v;
      }
    }
    if (over !== null) {
      for (const [k, v] of over) {
        if (v === DELETED) continue;
        checkKey(k);
        out[k] = v;
      }
    }
    return out;
  }
}
