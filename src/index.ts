/**
 * hotsession: session management for Node.js services where every
 * microsecond counts. This entry holds the framework-agnostic core and the
 * memory store; adapters and backend stores live in their own subpaths.
 */
export { SessionManager, type Prepared } from './core/manager';
export { Session, type SessionData, type SessionKey } from './core/session';
export type { SessionOptions } from './core/options';
export type { UsersOptions, UserSessionInfo } from './core/users';
export type { CookieOptions, ResolvedCookieOptions } from './core/cookie';
export { generateId } from './core/id';
export { MemoryStore, type MemoryStoreOptions, type MemoryStoreStats } from './stores/memory';
export { SharedMemoryStore, type SharedMemoryStoreOptions, type SharedMemoryStats } from './stores/shared-memory';
export type { SessionStore, CookieSessionStore, AnyStore, DecodedRecord, CookieRecord, MaybePromise, PatchOutcome, UserIndex } from './stores/types';
export { HotsessionError, codes, type HotsessionErrorCode } from './errors';
export { isNativeEnabled } from './codec';
export {
  channelNames, type BatchKind, type CookieRefusedMessage, type CookieRefusedReason, type SessionCommitMessage, type SessionLoadMessage,
  type StoreBatchMessage, type StoreFailureMessage,
} from './diagnostics';
export type { StoreStats } from './stores/probe';

import { SessionManager } from './core/manager';
import type { SessionOptions } from './core/options';
import type { SessionData } from './core/session';
import type { AnyStore } from './stores/types';

/** Builds a framework-agnostic manager: `load(cookieHeader)` and `commit(session)`. */
export function createSessionManager<Data extends SessionData = SessionData>(name: string, store: AnyStore, options: SessionOptions): SessionManager<Data> {
  return new SessionManager<Data>(name, store, options);
}
