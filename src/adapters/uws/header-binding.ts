import type { SessionManager } from '../../core/manager';
import type { Session } from '../../core/session';
import type { HeaderRequest, HeaderTransport } from '../../core/transport';
import type { MaybePromise } from '../../stores/types';
import { commitOne } from './binding';
import type { Binding, HttpRequest } from './types';

/** A session and what its request carried in the transport's header (null: a cookie client). */
interface Carried {
  s: Session<any>;
  via: HeaderRequest | null;
}

/**
 * One session whose token may come in a request header (core/transport.ts).
 * The token header of a response rides in the Set-Cookie list as
 * "\n<header>\n<value>" (a Set-Cookie value never starts with a newline);
 * respond.ts writes it as that header. Used only when the route's options
 * set `header`, so cookie-only routes keep SingleBinding.
 */
export class HeaderBinding implements Binding<Carried> {
  readonly #m: SessionManager;
  readonly #t: HeaderTransport;

  constructor(m: SessionManager, t: HeaderTransport) {
    this.#m = m;
    this.#t = t;
  }

  load(cookieHeader: string, req: HttpRequest): MaybePromise<Carried> {
    const t = this.#t;
    const via = t.read(req.getHeader(t.header));
    const loaded = this.#m.load(via === null ? cookieHeader : t.cookieHeader(via));
    if (loaded instanceof Promise) return loaded.then((s) => ({ s, via }));
    return { s: loaded, via };
  }

  arg(c: Carried): Session<any> {
    return c.s;
  }

  commit(c: Carried): MaybePromise<readonly string[]> {
    const out = commitOne(this.#m, c.s);
    const via = c.via;
    if (via === null) return out;
    if (out instanceof Promise) return out.then((list) => this.#respond(via, list));
    return this.#respond(via, out);
  }

  #respond(via: HeaderRequest, setCookies: readonly string[]): readonly string[] {
    const rest: string[] = [];
    const value = this.#t.respond(via, setCookies, rest);
    if (value !== undefined) rest.push('\n' + this.#t.header + '\n' + value);
    return rest;
  }
}
