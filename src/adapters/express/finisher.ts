import type { ServerResponse } from 'node:http';

export type Chunk = string | Buffer | Uint8Array | null | undefined;
/** The response's own `end` and `write`, saved before the middleware replaced `end`. */
export type EndFn = (this: ServerResponse, ...args: unknown[]) => ServerResponse;
export type WriteFn = (this: ServerResponse, ...args: unknown[]) => boolean;

/**
 * Ends a response around an asynchronous store call. `start` runs right
 * after the call: it sends the headers and the body (holding back its last
 * byte when a Content-Length is set, so the response cannot complete before
 * the store answered). `finish` runs when the store answered. If the store
 * answered synchronously, `finish` ran first and ended everything in one call.
 */
export class Finisher {
  readonly #st: { readonly end: EndFn; readonly write: WriteFn };
  readonly #res: ServerResponse;
  #chunk: Chunk;
  #encoding: unknown;
  readonly #callback: unknown;
  #sync = true;
  #ret: unknown = undefined;

  constructor(st: { readonly end: EndFn; readonly write: WriteFn }, res: ServerResponse, chunk: Chunk, encoding: unknown, callback: unknown) {
    this.#st = st;
    this.#res = res;
    this.#chunk = chunk;
    this.#encoding = encoding;
    this.#callback = callback;
  }

  finish(): void {
    const end = this.#st.end;
    if (this.#sync) {
      this.#ret = end.call(this.#res, this.#chunk, this.#encoding, this.#callback);
      this.#sync = false;
      return;
    }
    end.call(this.#res, this.#callback);
  }

  start(): unknown {
    if (!this.#sync) return this.#ret;
    const res = this.#res as ServerResponse & { _header?: unknown; _implicitHeader(): void };
    if (!res._header) res._implicitHeader();
    let chunk = this.#chunk;
    if (chunk == null) return (this.#ret = true);
    const write = this.#st.write;
    const length = Number(res.getHeader('Content-Length'));
    if (!isNaN(length) && length > 0) {
      const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string, this.#encoding as BufferEncoding);
      this.#encoding = undefined;
      if (buf.length !== 0) {
        this.#chunk = buf.subarray(buf.length - 1);
        return (this.#ret = write.call(res, buf.subarray(0, buf.length - 1)));
      }
      chunk = buf;
    }
    this.#ret = write.call(res, chunk, this.#encoding);
    this.#sync = false;
    return this.#ret;
  }
}
