/**
 * hotsession/express: a drop-in replacement for express-session 1.19.
 *
 *     const session = require('hotsession/express'); // was require('express-session')
 *     app.use(session({ secret: 'keyboard cat', resave: false, saveUninitialized: false }));
 *
 * Same options, same `req.session`, same cookies (a browser's existing
 * `connect.sid` keeps working), same store API: express-session stores
 * (connect-redis, connect-mongo, memorystore...) plug in unchanged, and every
 * hotsession store can be passed as `store` directly (see `toExpressStore`).
 *
 * Like express-session, the module is the middleware factory itself, with
 * the constructors attached: `require('hotsession/express').Store`, or
 * `import session, { Store } from 'hotsession/express'`.
 */
import { fromHotsessionStore, HotsessionExpressStore, isHotsessionStore, toExpressStore } from './express/bridge';
import { Cookie } from './express/cookie';
import { MemoryStore } from './express/memory-store';
import { session as createMiddleware } from './express/middleware';
import { Session } from './express/session';
import { Store } from './express/store';
import { login, userOf } from './express/users';

import type { ExpressStoreOptions as StoreOpts } from './express/bridge';
import type { CookieData as CData, CookieOptions as COpts } from './express/cookie';
import type { Next as NextFn, SessionOptions as Opts } from './express/config';
import type { ExpressMemoryStoreOptions as MemOpts } from './express/memory-store';
import type { SessionMiddleware as Mw } from './express/middleware';
import type { RequestSession as RSession, SessionCookie as SCookie, SessionData as SData, SessionRequest as SReq } from './express/session';
import type { Callback as Cb, ConnectStore as CStore, Store as StoreType, StoreConstructor as StoreCtor } from './express/store';

/** `session(options)`: the middleware factory, with express-session's constructors attached. */
function session(options?: Opts): Mw {
  return createMiddleware(options);
}
session.Store = Store;
session.MemoryStore = MemoryStore;
session.Session = Session;
session.Cookie = Cookie;
session.toExpressStore = toExpressStore;
session.fromHotsessionStore = fromHotsessionStore;
session.isHotsessionStore = isHotsessionStore;
session.HotsessionExpressStore = HotsessionExpressStore;
session.session = session;
session.login = login;
session.userOf = userOf;

// Types only (no code): what `import type { SessionOptions } from 'hotsession/express'` finds.
// eslint-disable-next-line @typescript-eslint/no-namespace
declare namespace session {
  export type SessionOptions = Opts;
  export type CookieOptions = COpts;
  export type CookieData = CData;
  export type Next = NextFn;
  export type SessionMiddleware = Mw;
  export type ExpressStoreOptions = StoreOpts;
  export type ExpressMemoryStoreOptions = MemOpts;
  export type Callback<T = void> = Cb<T>;
  export type StoreConstructor = StoreCtor;
  export type SessionRequest = SReq;
  export type ConnectStore = CStore;
  export type RequestSession = RSession;
  export type SessionCookie = SCookie;
  /**
   * The app's session data; augment it to type `req.session`:
   *
   *     declare module 'hotsession/express' {
   *       interface SessionData { user: string }
   *     }
   */
  export interface SessionData extends SData {}
  /**
   * What the middleware adds to Express's `Request`. When the app also has
   * `@types/express-session`, its declarations of these fields (and its
   * `SessionData`) take precedence: they satisfy these ones.
   */
  export interface RequestFields {
    session: RSession & Partial<SessionData>;
    sessionID: string;
    sessionStore: CStore;
  }
  // The constructors as types too: `const s: Store = ...`, `req.session as Session`.
  export type Store = StoreType;
  export type MemoryStore = InstanceType<typeof MemoryStore>;
  export type Session = InstanceType<typeof Session>;
  export type Cookie = InstanceType<typeof Cookie>;
  export type HotsessionExpressStore = InstanceType<typeof HotsessionExpressStore>;
}

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    // Through `extends` rather than own properties: @types/express-session declares the same
    // properties on Request, and a second declaration of a different type would not compile.
    // eslint-disable-next-line @typescript-eslint/no-empty-interface
    interface Request extends session.RequestFields {}
  }
}

export = session;

// Never read at runtime (tsc emits `module.exports = session` below them): spelled out so
// Node's CommonJS export detection offers named ESM imports (`import { Store } from ...`).
module.exports.Store = Store;
module.exports.MemoryStore = MemoryStore;
module.exports.Session = Session;
module.exports.Cookie = Cookie;
module.exports.toExpressStore = toExpressStore;
module.exports.fromHotsessionStore = fromHotsessionStore;
module.exports.isHotsessionStore = isHotsessionStore;
module.exports.HotsessionExpressStore = HotsessionExpressStore;
module.exports.session = session;
module.exports.login = login;
module.exports.userOf = userOf;
