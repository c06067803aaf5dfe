import * as path from 'node:path';
import { debuglog } from 'node:util';
import { jsCodec } from './js';
import { keyId } from './keys';
import { FRAME_HEADER, MAX_TIME, RECORD_HEADER, SEAL_OVERHEAD } from './layout';
import { viewOf } from './record';
import { indexPool, reserveIndex } from './record-index';
import { SignMemo } from './sign-memo';
import type { Codec, Opened, RecordView, Sealer, Signer } from './types';

/**
 * The native codec: a thin, validating wrapper around the addon built from
 * `native/`. The addon never sees an argument of the wrong type (a wrong type
 * in C++ is a crash, in JS an exception), and wherever its byte-level view
 * cannot decide (non-ASCII strings, whose UTF-16 details matter) it returns
 * `undefined` and the JS codec answers, so both paths agree on every input.
 */

interface NativeSigner {
  sign(value: string): string;
  signCookie(value: string): string;
  unsign(signed: string): string | null | undefined;
  extract(header: string, name: string): string | null | undefined;
}

interface NativeSealer {
  seal(out: Buffer, plaintext: Uint8Array, expiresAt: number, aad?: Uint8Array): void;
  open(out: Buffer, envelope: Uint8Array, aad?: Uint8Array): boolean;
}

interface Addon {
  Signer: new (secrets: Buffer[]) => NativeSigner;
  Sealer: new (keys: Buffer[], ids: number[]) => NativeSealer;
  frame(out: Buffer, body: Uint8Array, expiresAt: number, createdAt: number): void;
  unframe(buf: Uint8Array, times: Float64Array): boolean;
  /** Kind, or -1 malformed, -2 index too small; entries land in u32 at..at + 4 * count of `index`'s bytes. */
  scan(buf: Uint8Array, index: Uint8Array, at: number): number;
  /** Where apply and merge write (a buffer nobody else holds). */
  setOut(out: Buffer): void;
  /** Bytes written to the out buffer, -1 refused, or -2 - size when it is too small. */
  apply(record: Uint8Array | null, patch: Uint8Array): number;
  merge(p1: Uint8Array, p2: Uint8Array): number;
}

const debug = debuglog('hotsession');
/** Package root: this file is dist/codec/native.js. */
const ROOT = path.join(__dirname, '..', '..');

function checkTime(t: unknown, what: string): void {
  if (typeof t !== 'number' || !Number.isInteger(t) || t < 0 || t > MAX_TIME) {
    throw new RangeError(`${what} must be an integer ms timestamp in [0, 2^53)`);
  }
}

function checkBytes(b: unknown, what: string): void {
  if (!(b instanceof Uint8Array)) throw new TypeError(`${what} must be a Uint8Array`);
}

function checkAad(aad: unknown): void {
  if (aad !== undefined && !(aad instanceof Uint8Array)) throw new TypeError('aad must be a Uint8Array');
}

function checkString(s: unknown, what: string): void {
  if (typeof s !== 'string') throw new TypeError(`${what} must be a string`);
}

class NativeSignerWrap implements Signer {
  readonly #native: NativeSigner;
  readonly #secrets: readonly (string | Buffer)[];
  readonly #memo = new SignMemo();
  #js: Signer | undefined;

  constructor(addon: Addon, secrets: readonly (string | Buffer)[]) {
    if (!Array.isArray(secrets) || secrets.length === 0) {
      throw new TypeError('at least one secret is required');
    }
    const bufs = secrets.map((s) => {
      if (typeof s === 'string') return Buffer.from(s, 'utf8');
      if (Buffer.isBuffer(s)) return s;
      throw new TypeError('secrets must be strings or Buffers');
    });
    this.#native = new addon.Signer(bufs);
    this.#secrets = secrets.slice();
    this.#js = undefined;
  }

  /** The JS signer over the same secrets, for inputs only UTF-16 semantics decide. */
  #fallback(): Signer {
    return (this.#js ??= jsCodec.createSigner(this.#secrets));
  }

  sign(value: string): string {
    checkString(value, 'value');
    return value + '.' + this.#native.sign(value);
  }

  signCookie(value: string): string {
    checkString(value, 'value');
    let cookie = this.#memo.get(value);
    if (cookie === undefined) {
      cookie = this.#native.signCookie(value);
      this.#memo.set(value, cookie);
    }
    return cookie;
  }

  unsign(signed: string): string | null {
    checkString(signed, 'signed value');
    const r = this.#native.unsign(signed);
    return r === undefined ? this.#fallback().unsign(signed) : r;
  }

  extract(cookieHeader: string, name: string): string | null {
    checkString(cookieHeader, 'cookie header');
    checkString(name, 'cookie name');
    const r = this.#native.extract(cookieHeader, name);
    return r === undefined ? this.#fallback().extract(cookieHeader, name) : r;
  }
}

/** Big-endian u64 at `offset`; the addon already rejected values past 2^53 - 1. */
function readTime(b: Uint8Array, offset: number): number {
  const hi = b[offset]! * 0x1000000 + ((b[offset + 1]! << 16) | (b[offset + 2]! << 8) | b[offset + 3]!);
  const lo = b[offset + 4]! * 0x1000000 + ((b[offset + 5]! << 16) | (b[offset + 6]! << 8) | b[offset + 7]!);
  return hi * 0x100000000 + lo;
}

class NativeSealerWrap implements Sealer {
  readonly keyIds: readonly number[];
  readonly #native: NativeSealer;

  constructor(addon: Addon, keys: readonly Buffer[]) {
    if (!Array.isArray(keys) || keys.length === 0) throw new TypeError('at least one key is required');
    const ids: number[] = [];
    for (const key of keys) {
      if (!Buffer.isBuffer(key) || key.length !== 32) throw new TypeError('AEAD keys must be 32 bytes');
      const id = keyId(key);
      if (ids.includes(id)) throw new TypeError('two keys share an id (duplicate key?)');
      ids.push(id);
    }
    this.#native = new addon.Sealer(keys.slice(), ids);
    this.keyIds = ids;
  }

  seal(plaintext: Uint8Array, expiresAt: number, aad?: Uint8Array): Buffer {
    checkBytes(plaintext, 'plaintext');
    checkTime(expiresAt, 'expiresAt');
    checkAad(aad);
    // Output buffers come from Node's pool (allocUnsafe): far cheaper than a
    // Buffer created in C++, and the addon overwrites every byte.
    const out = Buffer.allocUnsafe(SEAL_OVERHEAD + plaintext.length);
    this.#native.seal(out, plaintext, expiresAt, aad);
    return out;
  }

  open(envelope: Uint8Array, aad?: Uint8Array): Opened | null {
    checkBytes(envelope, 'envelope');
    checkAad(aad);
    if (envelope.length < SEAL_OVERHEAD) return null;
    const plaintext = Buffer.allocUnsafe(envelope.length - SEAL_OVERHEAD);
    if (!this.#native.open(plaintext, envelope, aad)) return null;
    return { plaintext, expiresAt: readTime(envelope, 5) };
  }
}

/** Count field of a v2 header; the caller checked the length. */
function headerCount(b: Uint8Array): number {
  return b[24]! * 0x1000000 + ((b[25]! << 16) | (b[26]! << 8) | b[27]!);
}

/**
 * scan/apply/merge over the addon. The addon checks every rule itself; the
 * wrapper only sizes what it hands over:
 * - scan: the index goes straight into the shared index slab (record.ts's
 *   indexPool, record-index.ts), so a scan allocates no typed array of its own;
 * - apply/merge: the addon writes into one reused scratch buffer (registered
 *   once, never handed out) and the wrapper copies the exact result into a
 *   Buffer.allocUnsafe. A Buffer made
 *   in C++ (napi_create_buffer) measured ~1 us here, more than the whole
 *   apply; one of its own (allocUnsafeSlow) ~400-700 ns, a pooled one
 *   ~150-250 ns at 2 KB (bench/record-codec.mjs, "2 KB result buffer").
 */
class NativeRecords {
  readonly #addon: Addon;
  #scratch: Buffer;

  constructor(addon: Addon) {
    this.#addon = addon;
    this.#scratch = this.#use(Buffer.allocUnsafeSlow(SCRATCH));
  }

  #use(scratch: Buffer): Buffer {
    this.#addon.setOut(scratch);
    this.#scratch = scratch;
    return scratch;
  }

  scan(buf: Uint8Array): RecordView | null {
    checkBytes(buf, 'record');
    const len = buf.length;
    if (len < RECORD_HEADER) return null;
    const count = headerCount(buf);
    // The reference refuses such counts too; the bound keeps a lying header
    // from reserving index room the bytes cannot fill.
    if (count * 6 > len - RECORD_HEADER) return null;
    reserveIndex(4 * count);
    const kind = this.#addon.scan(buf, indexPool.bytes, indexPool.at);
    return kind < 0 ? null : viewOf(buf, kind, count);
  }

  /** The addon's result `n` (bytes in the scratch) as an exact-size Buffer, or null. */
  #take(n: number): Buffer | null {
    const scratch = this.#scratch;
    // One huge result must not pin its scratch for the life of the process.
    if (scratch.length > SCRATCH_KEEP) this.#use(Buffer.allocUnsafeSlow(SCRATCH));
    if (n < 0) return null;
    const out = Buffer.allocUnsafe(n);
    scratch.copy(out, 0, 0, n);
    return out;
  }

  apply(record: Uint8Array | null, patch: Uint8Array): Buffer | null {
    checkBytes(patch, 'patch');
    if (record !== null) checkBytes(record, 'record');
    let n = this.#addon.apply(record, patch);
    if (n < -1) {
      this.#use(Buffer.allocUnsafeSlow(-n - 2));
      n = this.#addon.apply(record, patch);
    }
    return this.#take(n);
  }

  merge(p1: Uint8Array, p2: Uint8Array): Buffer | null {
    checkBytes(p1, 'patch');
    checkBytes(p2, 'patch');
    let n = this.#addon.merge(p1, p2);
    if (n < -1) {
      this.#use(Buffer.allocUnsafeSlow(-n - 2));
      n = this.#addon.merge(p1, p2);
    }
    return this.#take(n);
  }
}

/** Scratch for apply/merge results; kept up to SCRATCH_KEEP, shrunk back past it. */
const SCRATCH = 16 * 1024;
const SCRATCH_KEEP = 1 << 20;

function makeCodec(addon: Addon): Codec {
  // A prebuilt addon from before the v2 record functions must not half-load.
  if (typeof addon.scan !== 'function' || typeof addon.setOut !== 'function') {
    throw new Error('the addon predates the v2 record functions (rebuild it)');
  }
  const records = new NativeRecords(addon);
  return {
    native: true,
    createSigner: (secrets) => new NativeSignerWrap(addon, secrets),
    frame(body: Uint8Array, expiresAt: number, createdAt: number): Buffer {
      checkBytes(body, 'body');
      checkTime(expiresAt, 'expiresAt');
      checkTime(createdAt, 'createdAt');
      if (body.length > 0xffffffff) throw new RangeError('record body too large');
      const out = Buffer.allocUnsafe(FRAME_HEADER + body.length);
      addon.frame(out, body, expiresAt, createdAt);
      return out;
    },
    // The JS parser reads 24 bytes faster than a call into C++ costs
    // (bench/micro.mjs: ~3x), so the codec keeps it; the addon's parser stays
    // fuzzed and parity-tested for callers that already hold native state.
    unframe: jsCodec.unframe,
    createSealer: (keys) => new NativeSealerWrap(addon, keys),
    scan: (buf) => records.scan(buf),
    // apply and merge results are exactly sized Buffers from allocUnsafe:
    // under 4 KiB a slice of Node's shared 8 KiB pool, which they keep alive,
    // as the JS codec's. A store that keeps records for long (the memory
    // store) should copy them into a buffer of their own (allocUnsafeSlow).
    apply: (record, patch) => records.apply(record, patch),
    merge: (p1, p2) => records.merge(p1, p2),
  };
}

/**
 * A cheap known-answer check at load: an addon built against a mismatched
 * OpenSSL would load fine and then sign wrongly, logging every user out.
 */
function selfTest(codec: Codec): boolean {
  const secret = 'hotsession self-test';
  const value = 'a.b/c+d';
  // A record of keys 'a' and 'b' and a patch that deletes 'a' and sets 'c'.
  const record = Buffer.from('68020000' + '00'.repeat(16) + '00000007' + '00000002' + '0001610000000101' + '0001620000000102', 'hex');
  const patch = Buffer.from('68020200' + '00'.repeat(15) + '09' + '00000007' + '00000002' + '000161ffffffff' + '0001630000000103', 'hex');
  const applied = codec.apply(record, patch);
  return codec.createSigner([secret]).sign(value) === jsCodec.createSigner([secret]).sign(value) &&
    jsCodec.unframe(codec.frame(Buffer.from([1, 2, 3]), 7, 5))?.expiresAt === 7 &&
    applied !== null && applied.equals(jsCodec.apply(record, patch)!) && codec.scan(applied)?.count === 2;
}

let warned = false;

function warnOnce(reason: string): void {
  debug('native addon unavailable: %s', reason);
  if (warned) return;
  warned = true;
  process.emitWarning(
    `hotsession: native addon not loaded (${reason}); using the JS codec (same bytes, slower). ` +
      'To build the addon: `npm rebuild hotsession` (needs a C++ toolchain; HOTSESSION_VERBOSE_BUILD=1 shows the compiler output). ' +
      'To silence this warning: HOTSESSION_NO_NATIVE=1.',
    { code: 'HOTSESSION_NATIVE_UNAVAILABLE' },
  );
}

let cached: Codec | null | undefined;

/** The native codec, or null (with one warning per process) when the addon cannot load. */
export function loadNativeCodec(): Codec | null {
  if (cached !== undefined) return cached;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const load = require('node-gyp-build') as (dir: string) => Addon;
    const codec = makeCodec(load(ROOT));
    if (!selfTest(codec)) {
      warnOnce('self-test failed: the addon disagrees with the JS codec');
      cached = null;
    } else {
      debug('native codec loaded');
      cached = codec;
    }
  } catch (err) {
    const msg = err instanceof Error ? err.message.split('\n')[0]! : String(err);
    warnOnce(msg);
    cached = null;
  }
  return cached;
}
