import { decodeData, encodeValue, INVALID } from '../codec/msgpack';
import { keyAt, type RecordView, type RecordWriter } from '../codec/record';
import { entryBytes, findEntry, keyProblem, valueAt } from './record-keys';

/** A cached decoded `undefined` (a hole in the cache means "not decoded yet"). */
const UNDEF: unique symbol = Symbol('hotsession.undefined');

/** Keys a request wrote, checked before what it loaded. */
export type Overlay = Map<string, unknown>;

/** What a request loaded, kept for regenerate()'s comparison with what the old id holds later. */
export interface LoadedBase {
  rec: Uint8Array | null;
  view: RecordView | null;
  obj: Record<string, unknown> | null;
}

function shadowed(key: string, over: Overlay | null, done: Overlay | null): boolean {
  return (over !== null && over.has(key)) || (done !== null && done.has(key));
}

/**
 * What one request loaded for a session: a scanned v2 record (a value is
 * decoded on its first read, never before; a whole record built from it
 * copies unchanged entries as their bytes), or a plain object (a v1 frame's
 * body, decoded on first use; a record a store decoded; a cookie store's
 * data). Entries (entries.ts) puts the request's own writes on top.
 */
export class Loaded {
  #rec: Uint8Array | null = null;
  #view: RecordView | null = null;
  /** Decoded values by entry index (holes: not decoded yet). */
  #cache: unknown[] | null = null;
  #obj: Record<string, unknown> | null = null;
  /** A v1 body waiting to be decoded into `#obj`. */
  #body: Uint8Array | null = null;
  /** The store holds no v2 record yet: the next write carries every key under CLEAR (the upgrade). */
  #legacy = false;

  /** A v2 RECORD. */
  loadRecord(rec: Uint8Array, view: RecordView): this {
    this.#rec = rec;
    this.#view = view;
    return this;
  }

  /** A v1 frame's msgpack body, decoded on first use; the next write upgrades it. */
  loadBody(body: Uint8Array): this {
    this.#body = body;
    this.#legacy = true;
    return this;
  }

  /** A plain object; `legacy`: a store's own decoding of another format (the next write upgrades it). */
  loadObject(obj: Record<string, unknown>, legacy: boolean): this {
    this.#obj = obj;
    this.#legacy = legacy;
    return this;
  }

  /** Nothing loaded (an empty session). */
  unload(): void {
    this.#rec = null;
    this.#view = null;
    this.#cache = null;
    this.#obj = null;
    this.#body = null;
    this.#legacy = false;
  }

  /** `rec` is what the store holds from now on (regenerate); nothing else changes. */
  replaceRecord(rec: Uint8Array, view: RecordView): void {
    this.#rec = rec;
    this.#view = view;
    this.#cache = null;
    this.#obj = null;
    this.#body = null;
    this.#legacy = false;
  }

  /** The store holds no v2 record for this session yet (a v1 frame, a legacy record). */
  get legacy(): boolean {
    return this.#legacy;
  }

  /** A write upgraded (or failed to upgrade) the stored record. */
  protected setLegacy(legacy: boolean): void {
    this.#legacy = legacy;
  }

  /** Bytes of the loaded v2 record (0 for anything else). */
  get recordBytes(): number {
    return this.#rec === null ? 0 : this.#rec.length;
  }

  /** The loaded object (v1 bodies decode here; garbage is an empty session, as a bad record is). */
  #object(): Record<string, unknown> | null {
    const body = this.#body;
    if (body !== null) {
      this.#obj = decodeData(body) ?? {};
      this.#body = null;
    }
    return this.#obj;
  }

  /** Entry `i` decoded once (UNDEF for undefined, INVALID when it does not decode). */
  #decoded(i: number): unknown {
    const cache = (this.#cache ??= new Array(this.#view!.count));
    let v = cache[i];
    if (v === undefined) {
      v = valueAt(this.#rec!, this.#view!, i);
      cache[i] = v === undefined ? UNDEF : v;
    }
    return v;
  }

  /** The loaded value under `key`; a value that does not decode reads as absent (and travels on as its bytes). */
  loadedValue(key: string): unknown {
    const rec = this.#rec;
    if (rec !== null) {
      const i = findEntry(rec, this.#view!, key);
      if (i < 0) return undefined;
      const v = this.#decoded(i);
      return v === UNDEF || v === INVALID ? undefined : v;
    }
    const obj = this.#object();
    return obj !== null && Object.hasOwn(obj, key) ? obj[key] : undefined;
  }

  /** True when `key` was loaded (a value that does not decode counts: it can be deleted). */
  loadedHas(key: string): boolean {
    const rec = this.#rec;
    if (rec !== null) return findEntry(rec, this.#view!, key) >= 0;
    const obj = this.#object();
    return obj !== null && Object.hasOwn(obj, key);
  }

  /** Record bytes the loaded entry `key` takes (0 when there is none). */
  loadedBytes(key: string): number {
    const rec = this.#rec;
    if (rec === null) return 0;
    const i = findEntry(rec, this.#view!, key);
    return i < 0 ? 0 : entryBytes(this.#view!, i);
  }

  /** Appends the loaded keys the overlays do not name, in record order. */
  loadedKeys(out: string[], over: Overlay | null, done: Overlay | null): void {
    const rec = this.#rec;
    if (rec !== null) {
      const view = this.#view!;
      for (let i = 0; i < view.count; i++) {
        const k = keyAt(rec, view, i);
        if (!shadowed(k, over, done)) out.push(k);
      }
      return;
    }
    const obj = this.#object();
    if (obj !== null) for (const k of Object.keys(obj)) if (!shadowed(k, over, done)) out.push(k);
  }

  /**
   * Writes the loaded entries the overlays do not name into `w`: v2 entries
   * as their bytes (never re-encoded), an object's values encoded. Keys of a
   * loaded object that no record can hold are left out.
   */
  writeLoaded(w: RecordWriter, over: Overlay | null, done: Overlay | null): void {
    const rec = this.#rec;
    if (rec !== null) {
      const view = this.#view!;
      const all = over === null && done === null;
      for (let i = 0; i < view.count; i++) if (all || !shadowed(keyAt(rec, view, i), over, done)) w.copy(rec, view, i);
      return;
    }
    const obj = this.#object();
    if (obj === null) return;
    for (const k of Object.keys(obj)) {
      if (shadowed(k, over, done) || keyProblem(k) !== null) continue;
      w.set(k, encodeValue(k, obj[k]));
    }
  }

  /** The loaded object itself, when the base is one (null for a record). */
  loadedObject(): Record<string, unknown> | null {
    return this.#rec === null ? this.#object() : null;
  }

  /** Copies the loaded values the overlays do not name into `out` (decoding every v2 value). */
  copyLoaded(out: Record<string, unknown>, over: Overlay | null, done: Overlay | null): void {
    const rec = this.#rec;
    if (rec !== null) {
      const view = this.#view!;
      for (let i = 0; i < view.count; i++) {
        const k = keyAt(rec, view, i);
        if (shadowed(k, over, done)) continue;
        const v = this.#decoded(i);
        // Keys of a scanned record are never __proto__/constructor/prototype: plain assignment is safe.
        if (v !== INVALID) out[k] = v === UNDEF ? undefined : v;
      }
      return;
    }
    const obj = this.#object();
    if (obj !== null) for (const k of Object.keys(obj)) if (!shadowed(k, over, done) && keyProblem(k) === null) out[k] = obj[k];
  }

  /** What was loaded (v1 bodies decoded). */
  loaded(): LoadedBase {
    return { rec: this.#rec, view: this.#view, obj: this.loadedObject() };
  }
}
