/**
 * When this process last extended each session's TTL, so `touch` can skip
 * the round trip while the last extension is younger than `touchAfter`.
 *
 * Bounded: one insertion-ordered Map used as an LRU; past `max` entries the
 * oldest is forgotten, which only costs that session one extra PEXPIRE.
 */
export class TouchLog {
  readonly #after: number;
  readonly #max: number;
  readonly #last = new Map<string, number>();

  constructor(after: number, max: number) {
    this.#after = after;
    this.#max = max;
  }

  /** Entries held. */
  get size(): number {
    return this.#last.size;
  }

  /** True when `id` was extended less than `touchAfter` ms before `now`. */
  fresh(id: string, now: number): boolean {
    const t = this.#last.get(id);
    return t !== undefined && now - t < this.#after;
  }

  /** Records that `id`'s TTL was extended at `now`. */
  note(id: string, now: number): void {
    const last = this.#last;
    // Re-insert so Map order stays the recency order.
    last.delete(id);
    last.set(id, now);
    if (last.size > this.#max) last.delete(last.keys().next().value as string);
  }

  forget(id: string): void {
    this.#last.delete(id);
  }
}
