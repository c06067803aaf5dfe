import type { HttpRequest, RecognizedString } from './types';

// uWS's HttpRequest lives on the stack of the route callback: after the
// callback returns, every getter throws. When the session must first come
// from a store that answers asynchronously, the handler runs later, so it
// gets a copy of everything readable, taken before the first await.

const MAX_PARAMS = 32;

// `req.forEach` calls back synchronously: the target list can wait in module
// state, so copying the headers allocates no closure.
const NO_HEADERS: string[] = [];
let collecting = NO_HEADERS;
function collect(key: string, value: string): void {
  collecting.push(key, value);
}

function text(v: RecognizedString): string {
  if (typeof v === 'string') return v;
  return ArrayBuffer.isView(v) ? Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString() : Buffer.from(v).toString();
}

/** The Cookie lines of an alternating name/value list, joined as node:http joins them (see cookie-lines.ts). */
function joinCookies(h: readonly string[]): string {
  let out: string | undefined;
  for (let i = 0; i < h.length; i += 2) if (h[i] === 'cookie') out = out === undefined ? h[i + 1]! : `${out}; ${h[i + 1]!}`;
  return out ?? '';
}

/** A copy of a uWS request with the same read-only getters, valid forever. */
export class RequestSnapshot {
  readonly #method: string;
  readonly #rawMethod: string;
  readonly #url: string;
  readonly #query: string;
  /** Header names (lowercase) and values, alternating. */
  readonly #headers: string[] = [];
  readonly #params: string[] = [];
  #parsed: URLSearchParams | null = null;
  #cookie: string | undefined;

  constructor(req: HttpRequest) {
    this.#method = req.getMethod();
    this.#rawMethod = typeof req.getCaseSensitiveMethod === 'function' ? req.getCaseSensitiveMethod() : this.#method.toUpperCase();
    this.#url = req.getUrl();
    this.#query = req.getQuery() ?? '';
    collecting = this.#headers;
    try {
      req.forEach(collect);
    } finally {
      collecting = NO_HEADERS;
    }
    // uWS answers '' past the route's last parameter; a matched parameter is never empty.
    for (let i = 0; i < MAX_PARAMS; i++) {
      const p = req.getParameter(i);
      if (p === undefined || p === '') break;
      this.#params.push(p);
    }
  }

  /** The first line of a header, as uWS gives it; every Cookie line joined with '; ', as node:http does. */
  getHeader(lowerCaseKey: RecognizedString): string {
    const key = text(lowerCaseKey);
    const h = this.#headers;
    if (key === 'cookie') return (this.#cookie ??= joinCookies(h));
    for (let i = 0; i < h.length; i += 2) if (h[i] === key) return h[i + 1]!;
    return '';
  }

  getParameter(index: number): string {
    return this.#params[index] ?? '';
  }

  getUrl(): string {
    return this.#url;
  }

  getMethod(): string {
    return this.#method;
  }

  getCaseSensitiveMethod(): string {
    return this.#rawMethod;
  }

  getQuery(): string;
  getQuery(key: string): string;
  getQuery(key?: string): string {
    if (key === undefined) return this.#query;
    // uWS decodes %xx and '+' in query values the same way.
    return (this.#parsed ??= new URLSearchParams(this.#query)).get(key) ?? '';
  }

  forEach(cb: (key: string, value: string) => void): void {
    const h = this.#headers;
    for (let i = 0; i < h.length; i += 2) cb(h[i]!, h[i + 1]!);
  }

  setYield(): never {
    throw new TypeError('req.setYield() only works synchronously in the route; this handler ran after the session loaded');
  }
}
