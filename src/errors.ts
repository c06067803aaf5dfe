/**
 * One registry of every error hotsession throws or rejects with.
 * Codes are stable and never reused: match on `err.code`, not on messages.
 */

/** Base class of every error hotsession creates. */
export class HotsessionError extends Error {
  /** Stable machine-readable code, `HOTSESSION_ERR_*`. */
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'HotsessionError';
    this.code = code;
  }
}

/** The stable codes. Add new ones at the end; never rename or reuse one. */
export const codes = {
  /** An option passed to a constructor or to `session.options()` is invalid. */
  OPTIONS: 'HOTSESSION_ERR_OPTIONS',
  /** A cookie name, value or attribute would inject into the Set-Cookie header. */
  COOKIE_INVALID: 'HOTSESSION_ERR_COOKIE_INVALID',
  /** A sealed/signed cookie would exceed the browser's 4096-byte limit. */
  COOKIE_TOO_LARGE: 'HOTSESSION_ERR_COOKIE_TOO_LARGE',
  /** A backend operation did not complete within the store's timeout. */
  STORE_TIMEOUT: 'HOTSESSION_ERR_STORE_TIMEOUT',
  /** Too many writes are already waiting for the backend. */
  QUEUE_FULL: 'HOTSESSION_ERR_QUEUE_FULL',
  /** The store was closed. */
  STORE_CLOSED: 'HOTSESSION_ERR_STORE_CLOSED',
  /** A record is larger than the backend accepts. */
  RECORD_TOO_LARGE: 'HOTSESSION_ERR_RECORD_TOO_LARGE',
  /** A value cannot be encoded into a session record. */
  ENCODE: 'HOTSESSION_ERR_ENCODE',
  /** The backend failed; `cause` holds the driver's error. */
  STORE: 'HOTSESSION_ERR_STORE',
  /**
   * A patch or forward kept losing the race for one session against writers
   * in other processes (a memcached CAS mismatch, a held MongoDB lock) after
   * the store's bounded retries; nothing of it was written.
   */
  CONFLICT: 'HOTSESSION_ERR_CONFLICT',
  /**
   * A session operation that cannot run in the session's current phase:
   * a commit, `destroy()` or `regenerate()` while `regenerate()` is still
   * running (it was not awaited).
   */
  SESSION_BUSY: 'HOTSESSION_ERR_SESSION_BUSY',
  /**
   * Users' sessions (`session.login()`, `sessionsOf`, `revokeSession`,
   * `revokeUser`) on a store without a per-user index (or a cookie store
   * without a `revocations` store), or a user id that is not a non-empty string.
   */
  USERS_UNSUPPORTED: 'HOTSESSION_ERR_USERS_UNSUPPORTED',
} as const;

/** Union of every error code. */
export type HotsessionErrorCode = (typeof codes)[keyof typeof codes];

/** @internal */
export function optionsError(message: string): HotsessionError {
  return new HotsessionError(codes.OPTIONS, message);
}
