import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Signer } from '../../codec/types';
import type { SessionManager } from '../../core/manager';
import { prepareShapes } from '../shape';
import { Config, type Next, type SessionOptions } from './config';
import { RequestState } from './request-state';
import type { SessionRequest } from './session';

/** Connect/Express middleware. */
export type SessionMiddleware = ((req: IncomingMessage, res: ServerResponse, next: Next) => void) & {
  /**
   * With a hotsession store: a SessionManager over the same store and
   * cookie name, for the account API of users' sessions (`sessionsOf`,
   * `revokeSession`, `revokeUser`); undefined with an express-session store.
   */
  readonly manager: SessionManager | undefined;
};

/**
 * express-session's middleware: loads `req.session` from the store named by
 * the signed cookie (or makes a new one), and at `res.end` saves, touches or
 * destroys it and sets the cookie, with express-session 1.19's rules.
 */
export function session(options?: SessionOptions): SessionMiddleware {
  const cfg = new Config(options);
  const mw = function session(request: IncomingMessage, res: ServerResponse, next: Next): void {
    const req = request as unknown as SessionRequest;
    // Another session middleware already ran.
    if (req.session) return next();
    // A disconnected store means no session at all, not an error.
    if (!cfg.ready) return next();
    const options = cfg.cookie;
    const path = (typeof options === 'function' ? options(req) : options).path || '/';
    if (!pathMatches(req, path)) return next();
    const signer = cfg.signerFor(req);
    if (signer === null) return next(new Error('secret option required for sessions'));

    prepareShapes(req, res);
    const st = new RequestState(cfg, req, res, next, signer);
    req.sessionStore = cfg.store;
    const cookieId = (req.sessionID = readSessionId(req, cfg.name, signer));
    st.cookieId = cookieId;
    hookResponse(st, res);

    if (!cookieId) {
      st.generate();
      return next();
    }
    if (cfg.budget !== undefined) st.loadStart = Date.now();
    cfg.store.get(cookieId as string, (err: unknown, sess: Record<string, any> | null | undefined) => st.loaded(err, sess));
  };
  return Object.defineProperty(mw, 'manager', { value: cfg.users?.manager, enumerable: true }) as SessionMiddleware;
}

// Two closures per request rather than one shared pair that finds the state
// in a property of the response: one property fewer added to every response
// (see ../shape.ts for what those cost under Express).
function hookResponse(st: RequestState, res: ServerResponse): void {
  res.writeHead = function writeHead(this: ServerResponse, ...args: unknown[]): ServerResponse {
    const passed = applyHeadArgs(this, args);
    if (!st.headersFired) {
      st.headersFired = true;
      st.onHeaders();
      // A listener may have changed the status.
      if (typeof passed[0] === 'number' && this.statusCode !== passed[0]) {
        passed[0] = this.statusCode;
        passed.length = 1;
      }
    }
    return st.writeHead.apply(this, passed);
  } as ServerResponse['writeHead'];
  res.end = function end(this: ServerResponse, chunk?: unknown, encoding?: unknown, callback?: unknown): unknown {
    return st.onEnd(this, chunk, encoding, callback);
  } as ServerResponse['end'];
}

/**
 * Headers given to `writeHead` are set on the response before the cookie is
 * added, so a Set-Cookie passed there is kept (as on-headers does). Returns
 * the status arguments to pass on.
 */
function applyHeadArgs(res: ServerResponse, args: unknown[]): unknown[] {
  const at = args.length > 1 && typeof args[1] === 'string' ? 2 : 1;
  if (args.length <= at) return args;
  const headers = args[at];
  res.statusCode = args[0] as number;
  if (Array.isArray(headers)) {
    if (headers.length > 0 && Array.isArray(headers[0])) {
      for (const pair of headers as unknown[][]) if (pair[0]) res.setHeader(pair[0] as string, pair[1] as string);
    } else {
      if (headers.length % 2 !== 0) throw new TypeError('headers array is malformed');
      for (let i = 0; i < headers.length; i += 2) res.removeHeader(headers[i] as string);
      for (let i = 0; i < headers.length; i += 2) if (headers[i]) res.appendHeader(headers[i] as string, headers[i + 1] as string);
    }
  } else if (headers) {
    for (const k of Object.keys(headers)) if (k) res.setHeader(k, (headers as Record<string, string>)[k]!);
  }
  return args.slice(0, at);
}

/** The original request path starts with the cookie's path (express-session's check). */
function pathMatches(req: SessionRequest, cookiePath: string): boolean {
  const url: unknown = typeof req.originalUrl === 'string' ? req.originalUrl : req.url;
  if (typeof url !== 'string') return cookiePath === '/';
  const pathname = pathnameOf(url);
  return cookiePath === '/' ? pathname.charCodeAt(0) === 0x2f : pathname.startsWith(cookiePath);
}

/** Pathname of a request target: the fast path for '/...' targets, the URL parser for the rest. */
function pathnameOf(url: string): string {
  if (url.charCodeAt(0) === 0x2f) {
    for (let i = 1; i < url.length; i++) {
      const c = url.charCodeAt(i);
      if (c === 0x3f) return url.slice(0, i);
      // Characters the WHATWG parser rewrites or cuts at: let it decide.
      if (c === 0x23 || c <= 0x20 || c === 0xa0 || c === 0xfeff) return parsedPathname(url);
    }
    return url;
  }
  return parsedPathname(url);
}

function parsedPathname(url: string): string {
  if (url.length === 0) return '/';
  try {
    return new URL(url, 'http://localhost').pathname || '/';
  } catch {
    return url;
  }
}

/**
 * The session id from the request: the signed cookie in the Cookie header
 * (parsed and verified in one native call), else cookie-parser's
 * `req.signedCookies`, else a signed value left in `req.cookies`.
 */
function readSessionId(req: SessionRequest, name: string, signer: Signer): unknown {
  const header = req.headers?.cookie as string | undefined;
  let val: unknown;
  if (header) val = signer.extract(header, name) ?? undefined;
  if (!val && req.signedCookies) val = req.signedCookies[name];
  if (!val && req.cookies) {
    const raw: unknown = req.cookies[name];
    if (typeof raw === 'string' && raw.startsWith('s:')) {
      const unsigned = signer.unsign(raw.slice(2));
      if (unsigned !== null) val = unsigned;
    }
  }
  return val;
}
