/**
 * The signed cookie values of recently signed ids, per signer.
 *
 * Why: a session with a `maxAge` sends its cookie again on every write (its
 * Expires moves), and the value, `s%3A<id>.<HMAC>`, is the same every time
 * for one id and one signing secret. Signing it again cost ~550 ns native
 * and ~2.5 us with the JS codec per write request (bench/layer.mjs rows
 * "memory (native)" and "memory (js)"; HMAC was a third of the JS row's
 * profile); a Map lookup costs ~50 ns. Nothing in it is secret: every value
 * is what the server sends to the id's own client.
 *
 * Bounded by clearing when full rather than by LRU order: no bookkeeping on
 * a hit, and an application with more sessions than this in flight only
 * loses the saving, never correctness. 4,096 entries of a 32-character id
 * and its ~80-character value keep it around 1 MB at most.
 */
const MAX_ENTRIES = 4096;

export class SignMemo {
  readonly #map = new Map<string, string>();

  get(value: string): string | undefined {
    return this.#map.get(value);
  }

  set(value: string, cookie: string): void {
    if (this.#map.size >= MAX_ENTRIES) this.#map.clear();
    this.#map.set(value, cookie);
  }
}
