import type { RecordView } from './record';

export type { RecordView };

/**
 * The codec contract. Two implementations keep it: the native addon
 * (`native.ts`) and the pure-JS fallback (`js.ts`). They must produce and
 * accept byte-identical output; shared vectors in test/unit/codec prove it.
 */

/** HMAC-SHA256 signer for one secret list (first signs, every one verifies). */
export interface Signer {
  /**
   * `value + '.' + base64(HMAC-SHA256(secrets[0], value))` without padding:
   * byte-identical to cookie-signature's `sign(value, secret)`.
   */
  sign(value: string): string;
  /**
   * express-session's cookie value for `value`, ready for a Set-Cookie header:
   * `'s%3A' + value + '.' + signature` with the signature's '+' and '/'
   * percent-escaped, which equals `encodeURIComponent('s:' + sign(value))`
   * for the URL-safe values it accepts (`[A-Za-z0-9_-]`, as generated ids).
   */
  signCookie(value: string): string;
  /**
   * Reverse of `sign` over every secret, constant-time. Returns the value, or
   * null when no secret produced exactly that signature (trailing bytes fail).
   */
  unsign(signed: string): string | null;
  /**
   * Finds cookie `name` in a raw Cookie header the way the `cookie` package
   * parses it (first occurrence wins, optional quotes, percent-decoding),
   * requires the express-session `s:` prefix, verifies the signature and
   * returns the unsigned value (the session id), or null.
   */
  extract(cookieHeader: string, name: string): string | null;
}

/** A decoded record frame (see `frame()` for the wire layout). */
export interface Frame {
  /** The msgpack body, a view into the input (not a copy). */
  body: Uint8Array;
  /** Hard expiry, ms since the epoch; 0 means none. */
  expiresAt: number;
  /** When the session was first created, ms since the epoch. */
  createdAt: number;
}

/** Result of opening a sealed envelope. */
export interface Opened {
  plaintext: Buffer;
  /** Expiry authenticated with the envelope, ms since the epoch. */
  expiresAt: number;
}

/**
 * AES-256-GCM envelope with a key ring. The first key seals; opening picks
 * the key by the id carried in the envelope (never by trying every key).
 */
export interface Sealer {
  /** Ids of the ring's keys, in ring order (first seals). */
  readonly keyIds: readonly number[];
  seal(plaintext: Uint8Array, expiresAt: number, aad?: Uint8Array): Buffer;
  /** Null when malformed, unknown key, or the tag does not verify. Expiry is the caller's check. */
  open(envelope: Uint8Array, aad?: Uint8Array): Opened | null;
}

/** Everything a codec implementation provides. */
export interface Codec {
  /** Reads a v2 record, forward marker or patch without decoding values (rules in layout.ts); null when malformed. */
  scan(buf: Uint8Array): RecordView | null;
  /** `patch` applied to `record` (layout.ts); null when the patch is malformed or cannot apply (see applyPatch). */
  apply(record: Uint8Array | null, patch: Uint8Array): Buffer | null;
  /** One patch with the effect of `p1` then `p2` (layout.ts); null when either is malformed. */
  merge(p1: Uint8Array, p2: Uint8Array): Buffer | null;
  /** True for the native addon. */
  readonly native: boolean;
  createSigner(secrets: readonly (string | Buffer)[]): Signer;
  frame(body: Uint8Array, expiresAt: number, createdAt: number): Buffer;
  unframe(buf: Uint8Array): Frame | null;
  /** Keys are 32 bytes each. */
  createSealer(keys: readonly Buffer[]): Sealer;
}
