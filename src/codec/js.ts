import { createCipheriv, createDecipheriv, timingSafeEqual } from 'node:crypto';
import { findCookie } from './cookie-header';
import { HmacKey } from './hmac';
import { keyId } from './keys';
import {
  FRAME_HEADER, FRAME_MAGIC, FRAME_VERSION, MAX_TIME,
  SEAL_HEADER, SEAL_NONCE, SEAL_OVERHEAD, SEAL_TAG, SEAL_VERSION,
} from './layout';
import { fillNonce } from './nonce-pool';
import { applyPatch, mergePatches, scanRecord } from './record';
import { SignMemo } from './sign-memo';
import type { Codec, Frame, Opened, Sealer, Signer } from './types';

/** Pure-JS codec on node:crypto. Same contract and bytes as the native addon. */


function cookieValue(value: string, signature: string): string {
  return 's%3A' + value + '.' + signature.replaceAll('+', '%2B').replaceAll('/', '%2F');
}

class JsSigner implements Signer {
  readonly #keys: readonly HmacKey[];
  readonly #memo = new SignMemo();
  constructor(secrets: readonly (string | Buffer)[]) {
    this.#keys = secrets.map((s) => new HmacKey(s));
  }

  sign(value: string): string {
    return value + '.' + this.#keys[0]!.base64(value);
  }

  signCookie(value: string): string {
    let cookie = this.#memo.get(value);
    if (cookie === undefined) {
      cookie = cookieValue(value, this.#keys[0]!.base64(value));
      this.#memo.set(value, cookie);
    }
    return cookie;
  }

  unsign(signed: string): string | null {
    const dot = signed.lastIndexOf('.');
    // A SHA-256 signature is exactly 43 base64 characters: anything else is forged or truncated.
    if (dot === -1 || signed.length - dot - 1 !== 43) return null;
    const value = signed.slice(0, dot);
    // UTF-8, not latin1: latin1 keeps only the low byte of each code unit, so
    // 'Ł' (U+0141) would pass for 'A' where cookie-signature rejects it. Any
    // non-ASCII character makes the buffer longer than 43 bytes.
    const given = Buffer.from(signed.slice(dot + 1), 'utf8');
    if (given.length !== 43) return null;
    let ok = false;
    let first = '';
    for (const key of this.#keys) {
      // No early exit: every secret costs the same whether or not an earlier one matched.
      const signature = key.base64(value);
      if (first === '') first = signature;
      if (timingSafeEqual(Buffer.from(signature, 'latin1'), given)) ok = true;
    }
    // The signing secret's signature is computed anyway: a write that sends
    // this cookie again (maxAge) then signs nothing (see sign-memo.ts).
    if (ok && this.#memo.get(value) === undefined) this.#memo.set(value, cookieValue(value, first));
    return ok ? value : null;
  }

  extract(cookieHeader: string, name: string): string | null {
    const raw = findCookie(cookieHeader, name);
    if (raw === undefined || raw.charCodeAt(0) !== 0x73 /* s */ || raw.charCodeAt(1) !== 0x3a /* : */) return null;
    return this.unsign(raw.slice(2));
  }
}

function checkTime(t: number, what: string): void {
  if (!Number.isInteger(t) || t < 0 || t > MAX_TIME) throw new RangeError(`${what} must be an integer ms timestamp in [0, 2^53)`);
}

function frame(body: Uint8Array, expiresAt: number, createdAt: number): Buffer {
  checkTime(expiresAt, 'expiresAt');
  checkTime(createdAt, 'createdAt');
  if (body.length > 0xffffffff) throw new RangeError('record body too large');
  const out = Buffer.allocUnsafe(FRAME_HEADER + body.length);
  out[0] = FRAME_MAGIC;
  out[1] = FRAME_VERSION;
  out[2] = 0;
  out[3] = 0;
  out.writeBigUInt64BE(BigInt(expiresAt), 4);
  out.writeBigUInt64BE(BigInt(createdAt), 12);
  out.writeUInt32BE(body.length, 20);
  out.set(body, FRAME_HEADER);
  return out;
}

function readTime(buf: Uint8Array, offset: number): number {
  const hi = (buf[offset]! * 0x1000000 + (buf[offset + 1]! << 16 | buf[offset + 2]! << 8 | buf[offset + 3]!)) ;
  const lo = (buf[offset + 4]! * 0x1000000 + (buf[offset + 5]! << 16 | buf[offset + 6]! << 8 | buf[offset + 7]!));
  return hi > 0x1fffff ? -1 : hi * 0x100000000 + lo;
}

function unframe(buf: Uint8Array): Frame | null {
  if (buf.length < FRAME_HEADER || buf[0] !== FRAME_MAGIC || buf[1] !== FRAME_VERSION || buf[2] !== 0 || buf[3] !== 0) return null;
  const expiresAt = readTime(buf, 4);
  const createdAt = readTime(buf, 12);
  if (expiresAt < 0 || createdAt < 0) return null;
  const len = (buf[20]! * 0x1000000) + (buf[21]! << 16 | buf[22]! << 8 | buf[23]!);
  if (len !== buf.length - FRAME_HEADER) return null;
  return { body: buf.subarray(FRAME_HEADER), expiresAt, createdAt };
}

class JsSealer implements Sealer {
  readonly keyIds: readonly number[];
  readonly #keys: Map<number, Buffer>;
  readonly #sealKey: Buffer;
  readonly #sealId: number;

  constructor(keys: readonly Buffer[]) {
    if (keys.length === 0) throw new TypeError('at least one key is required');
    this.#keys = new Map();
    const ids: number[] = [];
    for (const key of keys) {
      if (key.length !== 32) throw new TypeError('AEAD keys must be 32 bytes');
      const id = keyId(key);
      if (this.#keys.has(id)) throw new TypeError('two keys share an id (duplicate key?)');
      this.#keys.set(id, key);
      ids.push(id);
    }
    this.keyIds = ids;
    this.#sealKey = keys[0]!;
    this.#sealId = ids[0]!;
  }

  seal(plaintext: Uint8Array, expiresAt: number, aad?: Uint8Array): Buffer {
    checkTime(expiresAt, 'expiresAt');
    const out = Buffer.allocUnsafe(SEAL_OVERHEAD + plaintext.length);
    out[0] = SEAL_VERSION;
    out.writeUInt32BE(this.#sealId, 1);
    out.writeBigUInt64BE(BigInt(expiresAt), 5);
    const nonce = out.subarray(SEAL_HEADER, SEAL_HEADER + SEAL_NONCE);
    fillNonce(nonce);
    const cipher = createCipheriv('aes-256-gcm', this.#sealKey, nonce);
    // GCM takes the additional data in pieces: header, then the caller's aad.
    cipher.setAAD(out.subarray(0, SEAL_HEADER));
    if (aad !== undefined && aad.length > 0) cipher.setAAD(aad);
    const offset = SEAL_HEADER + SEAL_NONCE;
    const n = cipher.update(plaintext).copy(out, offset);
    cipher.final();
    cipher.getAuthTag().copy(out, offset + n);
    return out;
  }

  open(envelope: Uint8Array, aad?: Uint8Array): Opened | null {
    if (envelope.length < SEAL_OVERHEAD || envelope[0] !== SEAL_VERSION) return null;
    const buf = Buffer.from(envelope.buffer, envelope.byteOffset, envelope.length);
    const key = this.#keys.get(buf.readUInt32BE(1));
    if (key === undefined) return null;
    const expiresAt = readTime(buf, 5);
    if (expiresAt < 0) return null;
    const tagAt = buf.length - SEAL_TAG;
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, buf.subarray(SEAL_HEADER, SEAL_HEADER + SEAL_NONCE));
      decipher.setAAD(buf.subarray(0, SEAL_HEADER));
      if (aad !== undefined && aad.length > 0) decipher.setAAD(aad);
      decipher.setAuthTag(buf.subarray(tagAt));
      const head = decipher.update(buf.subarray(SEAL_HEADER + SEAL_NONCE, tagAt));
      const tail = decipher.final();
      return { plaintext: tail.length === 0 ? head : Buffer.concat([head, tail]), expiresAt };
    } catch {
      return null;
    }
  }
}

/** The pure-JS codec. */
export const jsCodec: Codec = {
  native: false,
  createSigner: (secrets) => new JsSigner(secrets),
  frame,
  unframe,
  createSealer: (keys) => new JsSealer(keys),
  scan: scanRecord,
  apply: applyPatch,
  merge: mergePatches,
};
