import { codec } from '../codec';
import { SEAL_OVERHEAD } from '../codec/layout';
import { decodeData, encodeData, isWellFormed } from '../codec/msgpack';
import type { Sealer } from '../codec/types';
import { codes, HotsessionError, optionsError } from '../errors';
import { base64urlLength, decodeBase64url } from './cookie/base64url';
import { join, MAX_CHUNKS, partNames, split, tooLarge, type SizeRule } from './cookie/chunks';
import { resolveKeys, type SecretInput } from './cookie/keys';
import { packPayload, unpackPayload } from './cookie/payload';
import { MacSealer, macContext, SIGNED_OVERHEAD } from './cookie/signed';
import type { StoreStats } from './probe';
import type { CookieRecord, CookieSessionStore, SessionStore } from './types';

export type { SecretInput } from './cookie/keys';

/** Options of {@link CookieStore}. Give exactly one of `secret`, `secrets`, `keys`, `keyPairs`. */
export interface CookieStoreOptions {
  /**
   * One secret, at least 32 bytes (32 random bytes, or a long random string).
   * The store derives its key from it once, here, with HKDF-SHA256 (a
   * different derivation per mode, so the same secret never yields the same
   * key for sealing and for signing).
   */
  secret?: SecretInput;
  /**
   * A key ring of secrets: the first seals (or signs), every one opens, and
   * each cookie names the key that sealed it, so opening picks one key, never
   * tries them all. Rotate by prepending a new secret; drop the old one once
   * every cookie it sealed has expired (the longest maxAge / ttl you use).
   */
  secrets?: readonly SecretInput[];
  /**
   * A key ring of 32-byte random keys (`crypto.randomBytes(32)`), used as the
   * AES-256-GCM keys as they are in `'sealed'` mode (in `'signed'` mode an
   * HKDF child of each is the HMAC key). Same rotation rule as `secrets`.
   */
  keys?: readonly Buffer[];
  /**
   * gin-contrib/sessions (gorilla/securecookie) style pairs:
   * `[authKey1, encKey1, authKey2, encKey2, …]`, where an encryption key may
   * be `null`/`undefined` (or left off at the end). Pair i is ring entry i.
   * - `'sealed'`: the AES-256-GCM key is `encKey` when given (must be 32 bytes:
   *   AES-256 only), else one derived from `authKey` with HKDF. GCM's tag
   *   authenticates, so `authKey` has no other use in this mode.
   * - `'signed'`: the HMAC key is derived from `authKey`; `encKey` is ignored
   *   (nothing is encrypted).
   * Authentication keys must be at least 32 bytes.
   */
  keyPairs?: readonly (SecretInput | null | undefined)[];
  /**
   * `'sealed'`: AES-256-GCM, the client can neither read nor change the
   * session. `'signed'`: HMAC-SHA256 only, the client can read the session
   * (base64url msgpack) but not change it. A cookie of one mode never opens in
   * a store of the other.
   * @default 'sealed'
   */
  mode?: 'sealed' | 'signed';
  /**
   * Largest cookie written, counted as the UTF-8 bytes of `name=value` plus
   * {@link CookieStoreOptions.attributeBytes}. Browsers drop larger cookies
   * silently (RFC 6265 section 6.1 asks them to keep at least 4096 bytes of
   * name, value and attributes); a session that does not fit is a
   * HOTSESSION_ERR_COOKIE_TOO_LARGE error at save/commit, never a lost session.
   * @default 4096
   */
  maxCookieSize?: number;
  /**
   * Bytes reserved for the attributes the manager appends (`; Path=/;
   * Max-Age=…; Expires=<29-char date>; Domain=…; HttpOnly; Secure;
   * SameSite=Strict; Partitioned; Priority=Medium` is 139 bytes plus the
   * domain and any path beyond "/"). Raise it for long domains or paths.
   * @default 160
   */
  attributeBytes?: number;
  /**
   * Most cookies one session may be split over (`name`, `name.1`, …, see
   * src/stores/cookie/chunks.ts). 1 disables chunking. Every part counts
   * against browsers' per-domain cookie limits and against the server's
   * header size limit (16 KiB for all headers in Node by default). Parts
   * are named `<name>.<i>`: do not give another session such a name.
   * @default 1
   */
  chunks?: number;
  /**
   * A server store (MemoryStore, SharedMemoryStore, RedisStore) keeping, per
   * user, when and which of their cookie sessions were revoked
   * (`revokeUser`, `revokeSession`). Opening a logged-in cookie then costs
   * one read of it; anonymous cookies cost nothing. A revocation takes
   * effect at each cookie's next request if the store is shared by every
   * process (Redis, SharedMemoryStore), and only in this process for a
   * MemoryStore.
   * @default undefined (cookie sessions cannot be revoked)
   */
  revocations?: SessionStore;
}

/** Most cookies the manager's parser looks at per name: bounded aad cache. */
const AAD_CACHE = 64;

/**
 * The client-side store: the whole session lives in the cookie, nothing on
 * a server, every operation synchronous.
 *
 * **Wire format.** The cookie value is base64url (unpadded, canonical) of an
 * envelope whose payload is `id, createdAt, msgpack(data)`
 * (src/stores/cookie/payload.ts). `'sealed'` uses the codec's AES-256-GCM
 * envelope (src/codec/layout.ts: version, key id, expiry, 96-bit random
 * nonce, ciphertext, tag) with the cookie name as additional data;
 * `'signed'` the HMAC envelope of src/stores/cookie/signed.ts. The version,
 * key id, expiry, cookie name and payload are authenticated in both: a cookie
 * copied under another name, replayed after its expiry, cut, extended or
 * changed in any byte opens nothing, and `read` gives null (the manager then
 * starts a fresh session). The tag is checked before a byte of msgpack is
 * decoded, and the decoder still refuses `__proto__`/`constructor`/`prototype`
 * keys, unknown extension types and nesting deeper than 64.
 *
 * **Expiry.** The expiry sealed in the envelope is the session's end
 * (`now + maxAge`, or `now + ttl` for a browser-session cookie, capped by
 * `absoluteTimeout`); `read` checks it against `now`, so a browser (or
 * attacker) that keeps a cookie past its Max-Age gains nothing.
 *
 * **No server state: revocation.** `destroy()` and `regenerate()` only issue
 * a new cookie (an empty one, or one with a new id); nothing is deleted
 * anywhere. A copy of a cookie taken before that (a stolen cookie, or the
 * user's own backup) stays valid until its sealed expiry. Keep maxAge short
 * for sensitive sessions; to invalidate every outstanding cookie at once,
 * rotate the keys (a new ring without the old key).
 *
 * **Key rotation and the nonce bound.** Nonces are 96 random bits, so one
 * key should seal at most 2^32 cookies: past that, the chance that two seals
 * share a nonce (which breaks GCM for that key: forgeries become possible)
 * exceeds 2^-32 (NIST SP 800-38D, section 8.3). Every write seals anew (each
 * changed session, and every request under `rolling`), across every process
 * sharing the key, so count writes, not users: 2^32 is about 50 days at
 * 1,000 writes/s and 12 hours at 100,000/s. Rotate on a schedule well inside
 * that ({@link CookieStore.seals} counts this instance's share): prepend a
 * new key (`secrets: [newSecret, oldSecret]`); new cookies are sealed with
 * it, old ones still open (the cookie names its key) and move to the new key
 * the next time their session is written; drop the old key once the longest
 * session lifetime has passed. (The `'signed'` mode has no nonce and no such
 * bound.)
 *
 * **What msgpack does not keep** (see src/codec/msgpack.ts): a Map comes back
 * as a plain object with string keys; class instances come back as plain
 * objects without their prototype (getters, methods and private fields are
 * lost); functions and symbols cannot be stored; cycles are refused. Dates,
 * Sets, Buffers, typed arrays, BigInts, `undefined` (also inside arrays),
 * RegExps and Errors survive. Keys named `__proto__`, `constructor` or
 * `prototype`, and nesting deeper than 64, are refused at write time with a
 * HOTSESSION_ERR_ENCODE error, since the decoder would refuse the cookie.
 */
export class CookieStore implements CookieSessionStore {
  readonly kind = 'cookie' as const;
  /** `'sealed'` or `'signed'`. */
  readonly mode: 'sealed' | 'signed';
  /** Where users' revocations are kept (see {@link CookieStoreOptions.revocations}). */
  readonly revocations: SessionStore | undefined;
  readonly #sealer: Sealer;
  readonly #rule: SizeRule;
  readonly #overhead: number;
  readonly #aad = new Map<string, Buffer>();
  #seals = 0;
  #hits = 0;
  #misses = 0;
  #errors = 0;

  constructor(options: CookieStoreOptions) {
    if (options === null || typeof options !== 'object') throw optionsError('CookieStore options are required (at least { secret })');
    const mode = options.mode ?? 'sealed';
    const rv = options.revocations;
    if (rv !== undefined && (rv === null || typeof rv !== 'object' || typeof rv.get !== 'function' || typeof rv.patch !== 'function' || typeof rv.set !== 'function')) {
      throw optionsError('CookieStore revocations must be a server store (get, set, patch)');
    }
    this.revocations = rv;
    if (mode !== 'sealed' && mode !== 'signed') throw optionsError(`CookieStore mode must be 'sealed' or 'signed', not ${JSON.stringify(mode)}`);
    const maxCookieSize = options.maxCookieSize ?? 4096;
    const attributeBytes = options.attributeBytes ?? 160;
    const chunks = options.chunks ?? 1;
    if (!Number.isInteger(attributeBytes) || attributeBytes < 0) throw optionsError('CookieStore attributeBytes must be a non-negative integer');
    if (!Number.isInteger(maxCookieSize) || maxCookieSize - attributeBytes < 256) {
      throw optionsError('CookieStore maxCookieSize must be an integer leaving at least 256 bytes beside attributeBytes');
    }
    if (!Number.isInteger(chunks) || chunks < 1 || chunks > MAX_CHUNKS) throw optionsError(`CookieStore chunks must be an integer in 1..${MAX_CHUNKS}`);
    this.mode = mode;
    const keys = resolveKeys(options, mode);
    try {
      this.#sealer = mode === 'sealed' ? codec.createSealer(keys) : new MacSealer(keys);
    } catch (err) {
      throw new HotsessionError(codes.OPTIONS, `CookieStore keys: ${(err as Error).message}`, { cause: err });
    }
    this.#overhead = mode === 'sealed' ? SEAL_OVERHEAD : SIGNED_OVERHEAD;
    this.#rule = { maxCookieSize, attributeBytes, chunks };
  }

  /**
   * Cookies this instance sealed or signed since it was built (all with the
   * ring's first key). Sum it over every process sharing the key to watch
   * the 2^32 bound described on the class.
   */
  get seals(): number {
    return this.#seals;
  }

  /**
   * Counters since the store was built, in the shape of the server stores'
   * (StoreStats): `hits` cookies opened, `misses` cookies present but
   * refused (forged, truncated, expired), `errors` writes refused (too
   * large, not encodable); nothing is ever batched, pending or timed out.
   */
  stats(): StoreStats {
    return { hits: this.#hits, misses: this.#misses, batches: 0, errors: this.#errors, timeouts: 0, queueFull: 0, pending: 0 };
  }

  /** Public ids of the ring's keys, in ring order (the first seals); useful to log a rotation. */
  get keyIds(): readonly number[] {
    return this.#sealer.keyIds;
  }

  /** What binds a cookie to its name: GCM additional data (sealed), the MAC's context (signed). */
  #aadOf(name: string): Buffer {
    let aad = this.#aad.get(name);
    if (aad === undefined) {
      aad = this.mode === 'sealed' ? Buffer.from(name, 'utf8') : macContext(name);
      if (this.#aad.size < AAD_CACHE) this.#aad.set(name, aad);
    }
    return aad;
  }

  read(cookieHeader: string, name: string, now: number): CookieRecord | null {
    if (typeof cookieHeader !== 'string' || cookieHeader.length === 0) return null;
    const found = join(cookieHeader, name, this.#rule);
    if (found === null) return null;
    const rec = this.#open(found.token, found.parts, name, now);
    if (rec === null) this.#misses++;
    else this.#hits++;
    return rec;
  }

  #open(token: string, parts: number, name: string, now: number): CookieRecord | null {
    const bytes = decodeBase64url(token);
    if (bytes === null || bytes.length <= this.#overhead) return null;
    const opened = this.#sealer.open(bytes, this.#aadOf(name));
    // Authenticated from here on; still checked, never trusted to be well formed.
    if (opened === null || opened.expiresAt <= now) return null;
    const p = unpackPayload(opened.plaintext);
    if (p === null) return null;
    const data = decodeData(p.body);
    if (data === null) return null;
    return { data, expiresAt: opened.expiresAt, createdAt: p.createdAt, id: p.id, parts };
  }

  write(name: string, id: string, data: Record<string, unknown>, expiresAt: number, createdAt: number): Array<[string, string]> {
    if (!Number.isInteger(expiresAt) || expiresAt <= 0) throw new RangeError('a cookie session needs an expiry (integer ms timestamp > 0)');
    const body = encodeData(data);
    // Refuse now what read() would refuse later: an error at save, not a session lost on the next request.
    if (!isWellFormed(body)) {
      this.#errors++;
      throw new HotsessionError(codes.ENCODE, 'session data has a key named __proto__, constructor or prototype, nesting deeper than 64, or a value type the decoder refuses');
    }
    const payload = packPayload(id, createdAt, body);
    const tokenLength = base64urlLength(this.#overhead + payload.length);
    const rule = this.#rule;
    // Sealing costs more than this arithmetic: refuse what cannot fit before doing it.
    const single = Buffer.byteLength(name) + 1 + tokenLength + rule.attributeBytes;
    if (single > rule.maxCookieSize * rule.chunks) {
      this.#errors++;
      throw tooLarge(name, single, rule);
    }
    const token = this.#sealer.seal(payload, expiresAt, this.#aadOf(name)).toString('base64url');
    this.#seals++;
    return split(name, token, rule);
  }

  names(name: string, parts: number): string[] {
    return partNames(name, Math.max(1, Math.min(parts, MAX_CHUNKS)));
  }

  /** Nothing to release: the store holds no connection and no timer. */
  async close(): Promise<void> {}
}
