/** A value as memcached last gave it to this store, with the CAS it had then. */
export interface Version {
  value: Buffer;
  cas: bigint;
}

/**
 * The value and CAS of the ids this store read or wrote last, so the patch
 * that follows a session's load swaps at once (one round trip) instead of
 * reading the item again first. A stale entry costs nothing but that read:
 * memcached refuses the swap (the CAS changed) and the store reads afresh.
 * Bounded to `max` ids, oldest out first; an entry is used at most once.
 * The values are views into memjs' receive buffers, as `get` returns them.
 */
export class Versions {
  readonly #map = new Map<string, Version>();
  readonly #max: number;

  constructor(max: number) {
    this.#max = max;
  }

  remember(id: string, value: Buffer, cas: bigint): void {
    if (this.#max === 0 || cas === 0n) return;
    const map = this.#map;
    map.delete(id);
    map.set(id, { value, cas });
    if (map.size > this.#max) map.delete(map.keys().next().value as string);
  }

  /** The entry for `id`, removed. */
  take(id: string): Version | undefined {
    const v = this.#map.get(id);
    if (v !== undefined) this.#map.delete(id);
    return v;
  }

  forget(id: string): void {
    this.#map.delete(id);
  }

  get size(): number {
    return this.#map.size;
  }
}
