import type { ServerResponse } from 'node:http';

export type Chunk = string | Buffer | Uint8Array | null | undefined;
/** The response's own `end`, saved before the middleware replaced it. */
export type EndFn = (this: ServerResponse, ...args: unknown[]) => ServerResponse;

/**
 * Ends a response around an asynchronous store call. `start` runs right
 * after the call: it fixes the headers (the Set-Cookie decision is made
 * then, as express-session makes it) and holds the last chunk back. `finish`
 * runs when the store answered and ends the response with that chunk, so the
 * response cannot complete before the store answered.
 *
 * express-session instead writes the chunk at once, all but its last byte
 * when a Content-Length is set, and sends the rest at the end: two socket
 * writes per response. Holding the chunk makes it one (headers and body in
 * a single write), the costliest step left on a response's path; a client
 * sees the same response, only in one piece. If the store answered
 * synchronously, `finish` ran first and ended everything in one call.
 */
export class Finisher {
  readonly #end: EndFn;
  readonly #res: ServerResponse;
  readonly #chunk: Chunk;
  readonly #encoding: unknown;
  readonly #callback: unknown;
  #sync = true;
  #ret: unknown = undefined;

  constructor(end: EndFn, res: ServerResponse, chunk: Chunk, encoding: unknown, callback: unknown) {
    this.#end = end;
    this.#res = res;
    this.#chunk = chunk;
    this.#encoding = encoding;
    this.#callback = callback;
  }

  finish(): void {
    const ret = this.#end.call(this.#res, this.#chunk, this.#encoding, this.#callback);
    if (this.#sync) {
      this.#ret = ret;
      this.#sync = false;
    }
  }

  /** Returns what the patched `end` returns: `end`'s own value when the store answered synchronously, else true. */
  start(): unknown {
    if (!this.#sync) return this.#ret;
    this.#sync = false;
    const res = this.#res as ServerResponse & { _header?: unknown; _implicitHeader(): void };
    if (!res._header) res._implicitHeader();
    return true;
  }
}
