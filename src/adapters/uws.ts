/**
 * hotsession/uws: sessions for uWebSockets.js routes.
 *
 * ```js
 * const { sessions } = require('hotsession/uws');
 * const withSession = sessions('sid', store, { secret });
 * app.get('/count', withSession((res, req, session) => {
 *   const n = (session.get('n') ?? 0) + 1;
 *   session.set('n', n);
 *   return String(n);
 * }));
 * ```
 *
 * The rules of a wrapped handler `(res, req, session)`:
 * - **Respond by returning**: a string/Buffer/Uint8Array/ArrayBuffer (200),
 *   `{ status, headers, body }`, or undefined (204). The adapter commits the
 *   session (the store acknowledged the write), then writes status,
 *   Set-Cookie, headers and body in one `res.cork()`, unless the client left.
 * - **Or write `res` yourself**: then end it before your handler (or its
 *   promise) settles, and since uWS cannot add a header once the status line
 *   or body went out, write the Set-Cookie values of `await commit(session)`
 *   yourself (cork after an await; check `res.aborted` first). A response
 *   the handler ended is left alone; a cookie that could not be sent any
 *   more is reported once with a process warning.
 * - **`req` is uWS's**: read it synchronously, before your first await.
 *   When the store answers asynchronously (Redis...), the handler runs after
 *   the load and gets a snapshot with the same getters. A request body must
 *   be read from the start (`res.onData` before the route returns): do it in
 *   `withSession(prepare, handler)`, whose `prepare(res, req)` runs at once
 *   and whose return value (a promise of the body) is the handler's 4th argument.
 * - **WebSocket upgrades**: a wrapped route can be a behavior's `upgrade`;
 *   keep the `sec-websocket-*` headers and the `context` in `prepare`, then
 *   `res.cork(() => res.upgrade(...))` in the handler or return a 401.
 * - **Never call `res.onAborted`**: uWS keeps one abort handler per response
 *   and the adapter's sets `res.aborted = true` (the uWS convention): read that.
 * - A thrown error (or rejected promise) is a 500 and the session's changes
 *   are dropped; a store error is `errorStatus` (503); bodies never carry
 *   error details; `onError` sees every error.
 *
 * The adapter never loads uWebSockets.js: it works with whichever build the
 * application brings (its types are the application's uWS types when
 * `uWebSockets.js` resolves, structural stand-ins otherwise: ./uws/types.ts).
 * @module
 */
import { SessionManager } from '../core/manager';
import { Session, stateOf, type SessionData } from '../core/session';
import { optionsError } from '../errors';
import type { AnyStore, MaybePromise } from '../stores/types';
import { HeaderTransport } from '../core/transport';
import { commitAll, commitOne, ManyBinding, SingleBinding } from './uws/binding';
import { HeaderBinding } from './uws/header-binding';
import { makeRoute, type AnyHandler } from './uws/pipeline';
import { errorStatusOf, onErrorOf } from './failure';
import { entriesOf, managersOf } from './named';
import type { Binding, NamedStore, Prepare, Settings, UwsRoute, UwsSessionOptions, WithSession, WithSessions } from './uws/types';

export type {
  Body, ErrorSource, ManySessionHandler, NamedStore, Prepare, Reply, Result, SessionGetter, SessionHandler, UwsRoute, UwsSessionOptions,
  WithSession, WithSessions,
} from './uws/types';

function settingsOf(options: UwsSessionOptions): Settings {
  return { errorStatus: errorStatusOf(options), onError: onErrorOf(options, 'uws'), warned: false };
}

/** `(handler)` or `(prepare, handler)`. */
function route(binding: Binding<any>, names: readonly string[], settings: Settings, a: unknown, b: unknown): UwsRoute {
  const handler = b === undefined ? a : b;
  const prepare = b === undefined ? undefined : a;
  if (typeof handler !== 'function') throw new TypeError('withSession(handler): handler must be a function (res, req, session) => result');
  if (prepare !== undefined && typeof prepare !== 'function') throw new TypeError('withSession(prepare, handler): prepare must be a function (res, req) => value');
  return makeRoute(binding, names, handler as AnyHandler, prepare as Prepare<unknown> | undefined, settings);
}

/** One named session in one store (gin's `sessions.Sessions(name, store)`). */
export function sessions<Data extends SessionData = SessionData>(name: string, store: AnyStore, options: UwsSessionOptions): WithSession<Data> {
  const settings = settingsOf(options);
  const manager = managersOf([{ name, store }], options)[0]!;
  const transport = HeaderTransport.of(options, [name], [store]);
  const binding = transport === null ? new SingleBinding(manager) : new HeaderBinding(manager, transport);
  const names = [manager.name];
  const wrap = (a: unknown, b?: unknown) => route(binding, names, settings, a, b);
  return Object.defineProperties(wrap, {
    manager: { value: manager, enumerable: true },
    managers: { value: Object.freeze({ [manager.name]: manager }), enumerable: true },
  }) as unknown as WithSession<Data>;
}

/** Several named sessions in one store; the handler gets `get(name)`. */
export function sessionsMany(names: readonly string[], store: AnyStore, options: UwsSessionOptions): WithSessions {
  return sessionsManyStores(entriesOf(names, store), options);
}

/** Several named sessions, each in its own store; the handler gets `get(name)`. */
export function sessionsManyStores(entries: readonly NamedStore[], options: UwsSessionOptions): WithSessions {
  const settings = settingsOf(options);
  if (options?.header !== undefined) throw optionsError('the header transport carries one session: use sessions(name, store, options)');
  const managers = managersOf(entries, options);
  const binding = new ManyBinding(managers);
  const names = managers.map((m) => m.name);
  const wrap = (a: unknown, b?: unknown) => route(binding, names, settings, a, b);
  const byName = Object.freeze(Object.fromEntries(managers.map((m) => [m.name, m])));
  return Object.defineProperty(wrap, 'managers', { value: byName, enumerable: true }) as unknown as WithSessions;
}

/**
 * For handlers that write `res` themselves: commits the session(s) now and
 * gives the Set-Cookie values to write (`res.writeHeader('set-cookie', v)`
 * for each, after `writeStatus`). Settles once the store acknowledged;
 * synchronous for the memory and cookie stores. Afterwards the adapter has
 * nothing left to send for these sessions unless they change again.
 */
export function commit(...list: Session<any>[]): MaybePromise<readonly string[]> {
  if (list.length === 1) return commitOne(managerOf(list[0]!), list[0]!);
  return commitAll(list.map(managerOf), list);
}

function managerOf(s: Session<any>): SessionManager {
  const host = Session.isSession(s) ? stateOf(s).host : null;
  if (!(host instanceof SessionManager)) throw new TypeError('commit() takes sessions given to a hotsession handler');
  return host;
}
