import { RECORD_HEADER } from '../codec/layout';
import { encodeValue } from '../codec/msgpack';
import type { RecordView, RecordWriter } from '../codec/record';
import { Loaded, type Overlay } from './loaded';
import { checkKey, keyProblem } from './record-keys';

export type { LoadedBase } from './loaded';

/** An overlay value that means "deleted in this request". */
const DELETED: unique symbol = Symbol('hotsession.deleted');

/** The writes a commit took (value or DELETED per key), handed back if its write fails. */
export type SentWrites = ReadonlyMap<string, unknown> | null;

/**
 * The keys and values of one session in one request: what was loaded
 * (loaded.ts) under two overlays of the request's own writes.
 *
 * - `#over` holds the writes since the last commit (a value, or DELETED), in
 *   the order of their last write; a commit turns it into a patch.
 * - `#done` holds the writes earlier commits of this request already sent.
 * - `clear()` hides what was loaded and the earlier writes.
 *
 * Key order (`keys()`, whole records) is the record's: loaded entries not
 * written in this request, in record order, then this request's writes from
 * least to most recently written, which is the order a store's apply gives
 * (src/codec/layout.ts).
 */
export class Entries extends Loaded {
  /** clear() ran in this request: what was loaded and earlier writes are gone. */
  #hidden = false;
  #done: Overlay | null = null;
  #over: Overlay | null = null;
  /** clear() ran since the last commit: the next patch has CLEAR. */
  #clear = false;
  /** Keys clear() removed since the last commit (for changes()). */
  #cleared: string[] | null = null;
  /** Estimated bytes of the stored record (for maxRecordSize); set at the first estimate. */
  #size = -1;
  /** What the last writeDelta adds to its patch's length for that estimate. */
  #adjust = 0;

  /** Back to an empty session. */
  reset(): void {
    this.unload();
    this.#hidden = false;
    this.#done = null;
    this.#over = null;
    this.#clear = false;
    this.#cleared = null;
    this.#size = -1;
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
    return this.#hidden ? undefined : this.loadedValue(key);
  }

  /** True when `key` is set (a stored value that does not decode counts: it can be deleted). */
  has(key: string): boolean {
    let m = this.#over;
    if (m !== null && m.has(key)) return m.get(key) !== DELETED;
    m = this.#done;
    if (m !== null && m.has(key)) return m.get(key) !== DELETED;
    return !this.#hidden && this.loadedHas(key);
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

  /** Every key set, least recently written first. */
  keys(): string[] {
    const out: string[] = [];
    const over = this.#over;
    const done = this.#done;
    if (!this.#hidden) this.loadedKeys(out, over, done);
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
    if (cleared === null) return { changed, deleted, cleared: this.#clear };
    // A key cleared and set again since is a change, not a deletion.
    const gone = cleared.filter((k) => over === null || !over.has(k) || over.get(k) === DELETED);
    for (const k of deleted) if (!gone.includes(k)) gone.push(k);
    return { changed, deleted: gone, cleared: this.#clear };
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

  /**
   * Writes every key into `w` (begun by the caller, as a RECORD or a CLEAR
   * patch): unchanged v2 entries as their bytes, everything else encoded;
   * keys the handler set are checked (a coded error names a bad one).
   */
  writeAll(w: RecordWriter): void {
    const over = this.#over;
    const done = this.#done;
    if (!this.#hidden) this.writeLoaded(w, over, done);
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
   * caller, with CLEAR when `clearPending`), and notes for `estimate` what
   * they change in the record's size: loaded entries the patch replaces come
   * off, deletions add nothing.
   */
  writeDelta(w: RecordWriter): void {
    const over = this.#over;
    this.#adjust = 0;
    if (over === null) return;
    const clear = this.#clear;
    // Loaded entries still counted in #size: not hidden, not replaced by an earlier commit.
    const counted = !this.#hidden;
    const done = this.#done;
    let adjust = 0;
    for (const [k, v] of over) {
      if (v === DELETED && keyProblem(k) !== null) continue; // no store holds it: nothing to delete
      checkKey(k);
      if (counted && (done === null || !done.has(k))) adjust -= this.loadedBytes(k);
      if (v !== DELETED) {
        w.set(k, encodeValue(k, v));
      } else if (!clear) {
        // Under CLEAR nothing is left to delete.
        w.delete(k);
        adjust -= 6 + Buffer.byteLength(k, 'utf8');
      }
    }
    this.#adjust = adjust;
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

  /**
   * Estimated record size after the patch of `patchBytes` the last
   * writeDelta wrote: from the loaded record, or from the last commit's
   * estimate. A key replaced by two commits of one request counts twice
   * (an overestimate, never an underestimate of a single commit).
   */
  estimate(patchBytes: number): number {
    const base = this.#clear ? RECORD_HEADER : this.#size >= 0 ? this.#size : this.recordBytes || RECORD_HEADER;
    return base + patchBytes - RECORD_HEADER + this.#adjust;
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
    this.setLegacy(false);
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
    if (legacy) this.setLegacy(true);
  }

  /** The session's whole view was written as `rec` (regenerate): it becomes what is loaded, with nothing pending. */
  adopt(rec: Uint8Array, view: RecordView): void {
    this.reset();
    this.loadRecord(rec, view);
  }

  /** `rec` is what the store holds now; writes (and a clear()) made since stay on top of it. */
  rebase(rec: Uint8Array, view: RecordView): void {
    this.replaceRecord(rec, view);
    this.#size = rec.length;
  }

  /**
   * The whole view as a plain object (a cookie store seals it): the loaded
   * object itself when nothing was written, else a new object.
   */
  toObject(): Record<string, unknown> {
    const over = this.#over;
    const done = this.#done;
    if (!this.#hidden && over === null && done === null) {
      const obj = this.loadedObject();
      if (obj !== null) return obj;
    }
    const out: Record<string, unknown> = {};
    if (!this.#hidden) this.copyLoaded(out, over, done);
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
