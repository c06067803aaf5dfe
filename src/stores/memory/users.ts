import type { UserIndex } from '../types';

interface One {
  entries: Map<string, string>;
  /** The index is dropped after this (ms since the epoch): past every entry it was given. */
  expiresAt: number;
}

/**
 * The per-user index of an in-process store (MemoryStore): one Map per user,
 * each operation synchronous and therefore atomic. An index expires once
 * every entry put in it would have (the core's entries carry their own
 * bound, see src/core/users.ts); the store's sweep drops expired ones.
 */
export class MemoryUserIndex implements UserIndex {
  readonly #users = new Map<string, One>();

  #live(userId: string, now: number): One | undefined {
    const one = this.#users.get(userId);
    if (one !== undefined && one.expiresAt <= now) {
      this.#users.delete(userId);
      return undefined;
    }
    return one;
  }

  put(userId: string, handle: string, entry: string, ttlMs: number): number {
    const now = Date.now();
    const until = now + ttlMs;
    let one = this.#live(userId, now);
    if (one === undefined) {
      one = { entries: new Map(), expiresAt: until };
      this.#users.set(userId, one);
    }
    one.entries.set(handle, entry);
    if (until > one.expiresAt) one.expiresAt = until;
    return one.entries.size;
  }

  list(userId: string): Array<[string, string]> {
    const one = this.#live(userId, Date.now());
    return one === undefined ? [] : [...one.entries];
  }

  remove(userId: string, handle: string, sid?: string): void {
    const one = this.#live(userId, Date.now());
    if (one === undefined) return;
    const entry = one.entries.get(handle);
    if (entry === undefined || (sid !== undefined && !entry.startsWith(sid + '\n'))) return;
    one.entries.delete(handle);
    if (one.entries.size === 0) this.#users.delete(userId);
  }

  /** Users with an index (expired ones count until swept). */
  get size(): number {
    return this.#users.size;
  }

  /** Drops expired indexes; returns how many. */
  sweep(now: number): number {
    let n = 0;
    for (const [u, one] of this.#users) {
      if (one.expiresAt <= now) {
        this.#users.delete(u);
        n++;
      }
    }
    return n;
  }

  clear(): void {
    this.#users.clear();
  }
}
