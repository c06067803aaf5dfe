// uWebSockets.js is an optional peer dependency that is not on npm, so these
// declarations must compile in an app that does not have it (skipLibCheck off)
// and stay exact in one that does. The import below is silenced for the first
// case (the directive has to be a JSDoc comment: tsc keeps those in the .d.ts
// it emits and drops the others); an unresolved import is an error type, and
// `unknown extends X` is true only for such a type (or any), never for a real
// interface. So each public name is the app's own uWS type when uWS is
// installed, and the structural shape below when it is not.
/** @ts-ignore: resolves only where the app has uWebSockets.js (optional peer); the shapes below stand in otherwise */
import type { HttpRequest as UwsRequest, HttpResponse as UwsResponse, RecognizedString as UwsString, us_socket_context_t as UwsContext } from 'uWebSockets.js';
import type { SessionOptions } from '../../core/options';
import type { HeaderTransportOptions } from '../../core/transport';
import type { SessionManager } from '../../core/manager';
import type { Session, SessionData } from '../../core/session';
import type { MaybePromise } from '../../stores/types';
import type { ErrorSource } from '../failure';

/** The app's type when uWebSockets.js resolves, the structural fallback when it does not. */
type Installed<T, Fallback> = unknown extends T ? Fallback : T;

/** What uWS reads as a string: text, an ArrayBuffer or a typed array (as bytes). */
export type RecognizedStringShape = string | ArrayBuffer | Uint8Array | Int8Array | Uint16Array | Int16Array | Uint32Array | Int32Array | Float32Array | Float64Array;

/** uWS's native socket context: opaque, only handed back to `res.upgrade`. */
// eslint-disable-next-line @typescript-eslint/no-empty-interface
export interface SocketContextShape {}

/**
 * uWS v20's `HttpResponse` as its builds declare it (checked against the
 * installed one by test/types/uws-compat.ts): what the adapter calls and what
 * handlers commonly do. Members that only some builds have are optional, and
 * a return type that differs between builds is the loosest of them (`cork`),
 * so that a real uWS `HttpResponse` is assignable to it.
 */
export interface HttpResponseShape {
  writeStatus(status: RecognizedStringShape): HttpResponseShape;
  writeHeader(key: RecognizedStringShape, value: RecognizedStringShape): HttpResponseShape;
  /** Chunked write; true when no backpressure was added. */
  write(chunk: RecognizedStringShape): boolean;
  end(body?: RecognizedStringShape, closeConnection?: boolean): HttpResponseShape;
  /** Not in the oldest v20 builds (the adapter checks before calling it). */
  endWithoutBody?(reportedContentLength?: number, closeConnection?: boolean): HttpResponseShape;
  tryEnd(fullBodyOrChunk: RecognizedStringShape, totalSize: number): [boolean, boolean];
  close(): HttpResponseShape;
  getWriteOffset(): number;
  onWritable(handler: (offset: number) => boolean): HttpResponseShape;
  onAborted(handler: () => void): HttpResponseShape;
  onData(handler: (chunk: ArrayBuffer, isLast: boolean) => void): HttpResponseShape;
  onDataV2?(handler: (chunk: ArrayBuffer, maxRemainingBodyLength: bigint) => void): HttpResponseShape;
  collectBody?(maxSize: number, handler: (body: ArrayBuffer | null) => void): HttpResponseShape;
  pause?(): void;
  resume?(): void;
  getRemoteAddress(): ArrayBuffer;
  getRemoteAddressAsText(): ArrayBuffer;
  getRemotePort?(): number;
  getProxiedRemoteAddress(): ArrayBuffer;
  getProxiedRemoteAddressAsText(): ArrayBuffer;
  getProxiedRemotePort?(): number;
  /** Returns the response in recent builds, nothing in older ones. */
  cork(cb: () => void): void;
  upgrade<UserData>(
    userData: UserData, secWebSocketKey: RecognizedStringShape, secWebSocketProtocol: RecognizedStringShape,
    secWebSocketExtensions: RecognizedStringShape, context: SocketContextShape,
  ): void;
  /** Set to true by the adapter once the client has gone (the uWS convention). */
  aborted?: boolean;
  /** Anything the application attaches, as uWS allows. */
  [key: string]: any;
}

/** uWS v20's `HttpRequest`, as {@link HttpResponseShape} is its `HttpResponse`. */
export interface HttpRequestShape {
  getHeader(lowerCaseKey: RecognizedStringShape): string;
  /** Recent builds also take a parameter name and answer undefined past the last one. */
  getParameter(index: number): string | undefined;
  getUrl(): string;
  getMethod(): string;
  /** Not in the oldest v20 builds. */
  getCaseSensitiveMethod?(): string;
  getQuery(): string;
  getQuery(key: string): string | undefined;
  forEach(cb: (key: string, value: string) => void): void;
  setYield(yield_: boolean): HttpRequestShape;
}

/** uWS's `HttpResponse`: the app's own type when uWebSockets.js is installed, else {@link HttpResponseShape}. */
export type HttpResponse = Installed<UwsResponse, HttpResponseShape>;
/** uWS's `HttpRequest`: the app's own type when uWebSockets.js is installed, else {@link HttpRequestShape}. */
export type HttpRequest = Installed<UwsRequest, HttpRequestShape>;
/** uWS's `us_socket_context_t`: the app's own type when uWebSockets.js is installed, else {@link SocketContextShape}. */
export type us_socket_context_t = Installed<UwsContext, SocketContextShape>;
/** uWS's `RecognizedString`: the app's own type when uWebSockets.js is installed, else {@link RecognizedStringShape}. */
export type RecognizedString = Installed<UwsString, RecognizedStringShape>;

/** A response body uWS can send as is. */
export type Body = string | Uint8Array | ArrayBuffer;

/** A full response returned by a handler. */
export interface Reply {
  /**
   * HTTP status code.
   * @default 200 with a body, 204 without
   */
  status?: number;
  /**
   * Response headers; an array value sends the header once per element.
   * `content-length` is ignored (uWS computes it). Values are written as
   * given, like raw uWS: never put unvalidated user input in them.
   */
  headers?: Readonly<Record<string, string | number | readonly string[]>>;
  /** Response body. */
  body?: Body;
}

/**
 * What a handler returns: a body (sent with 200), a {@link Reply}, or
 * undefined: 204, unless the handler already ended `res` itself.
 */
export type Result = Body | Reply | undefined | void;

export type { NamedStore } from '../named';
/** Where an error came from, as reported to `onError` (declared with the failure rules shared by the adapters). */
export type { ErrorSource } from '../failure';

/** Options of the uWebSockets.js adapter: the node:http adapter's options. */
export interface UwsSessionOptions extends SessionOptions, HeaderTransportOptions {
  /**
   * Status sent when the store fails (loading or saving a session). The body
   * is a generic status text, never the store's message.
   * @default 503
   */
  errorStatus?: number;
  /**
   * Called with every store error and every error a handler throws (the
   * response is handled either way: `errorStatus` or 500).
   * @default console.error
   */
  onError?: (err: Error, source: ErrorSource) => void;
}

/**
 * A route handler with a session. `req` is uWS's request: read it
 * synchronously, before your first await (when the store answers
 * asynchronously the handler gets a snapshot with the same getters).
 * `prepared` is what the route's `prepare` returned (undefined without one).
 */
export type SessionHandler<Data extends SessionData = SessionData, P = undefined> = (
  res: HttpResponse, req: HttpRequest, session: Session<Data>, prepared: P,
) => Result | Promise<Result>;

/** Looks up one of the request's named sessions. */
export type SessionGetter = <Data extends SessionData = SessionData>(name: string) => Session<Data>;

/** A route handler with several named sessions. */
export type ManySessionHandler<P = undefined> = (res: HttpResponse, req: HttpRequest, get: SessionGetter, prepared: P) => Result | Promise<Result>;

/**
 * `withSession(prepare, handler)`: runs synchronously when the request
 * arrives, before the session loads, with uWS's live `req`. The place to
 * attach `res.onData` and start reading the body (an asynchronous store runs
 * the handler too late for that), or, in a WebSocket `upgrade`, to keep the
 * `sec-websocket-*` headers and the `context`. Its return value (a promise
 * of the body, say) is the handler's 4th argument. It must not call
 * `res.onAborted` or write the response.
 */
export type Prepare<P> = (res: HttpResponse, req: HttpRequest, context?: us_socket_context_t) => P;

/**
 * What uWS mounts: `app.get(pattern, route)`, or a WebSocket behavior's
 * `upgrade` (uWS then passes the `context` that `res.upgrade` needs).
 */
export type UwsRoute = (res: HttpResponse, req: HttpRequest, context?: us_socket_context_t) => void;

/**
 * Wraps a handler into a uWS route that loads and commits its session:
 * `withSession(handler)`, or `withSession(prepare, handler)` when something
 * must be read from the request before the session loads (the body).
 */
export interface WithSession<Data extends SessionData = SessionData> {
  (handler: SessionHandler<Data>): UwsRoute;
  <P>(prepare: Prepare<P>, handler: SessionHandler<Data, P>): UwsRoute;
  /** The session's manager, for what runs outside a request (`withSession.manager.sessionsOf(userId)`). */
  readonly manager: SessionManager<Data>;
  /** The manager by session name. */
  readonly managers: Readonly<Record<string, SessionManager>>;
}

/** `WithSession` for several named sessions: the handler gets `get(name)`. */
export interface WithSessions {
  (handler: ManySessionHandler): UwsRoute;
  <P>(prepare: Prepare<P>, handler: ManySessionHandler<P>): UwsRoute;
  /** The managers by session name, for what runs outside a request. */
  readonly managers: Readonly<Record<string, SessionManager>>;
}

/** How a wrapper loads, exposes and commits its session(s). */
export interface Binding<S> {
  /** `req`: uWS's request, readable only now (for a header transport). */
  load(cookieHeader: string, req: HttpRequest): MaybePromise<S>;
  /** What the handler receives as its third argument. */
  arg(loaded: S): unknown;
  /** Set-Cookie values once the store acknowledged every write. */
  commit(loaded: S): MaybePromise<readonly string[]>;
}

/** Resolved adapter settings shared by the routes of one wrapper. */
export interface Settings {
  errorStatus: number;
  onError: (err: Error, source: ErrorSource) => void;
  /** Warned once that a handler ended `res` before its session's cookie could be sent. */
  warned: boolean;
}
