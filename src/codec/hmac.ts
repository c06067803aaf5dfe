import * as crypto from 'node:crypto';

/**
 * HMAC-SHA256 (RFC 2104) of short strings under one fixed key, for the JS
 * codec's cookie signatures: the key's inner and outer blocks are XORed once,
 * here, and each signature is two one-shot `crypto.hash` calls over them.
 * `createHmac` redoes the key setup and builds a stream object per call;
 * in-process (bench/layer.mjs "memory (js)", node 20) that was 2.1-2.7 us a
 * signature against 1.6 us this way, and HMAC was a third of that row.
 * Where `crypto.hash` does not exist (node < 20.12) or a value does not fit
 * the scratch block, `createHmac` answers; both give the same bytes
 * (test/unit/codec-vectors.test.mjs, signature-compat.test.mjs).
 */
const BLOCK = 64;
/** Longest value (UTF-8 bytes) the scratch block takes; cookie ids are ~32. */
const MAX_VALUE = 1024;

type OneShot = (algorithm: string, data: Uint8Array, encoding: 'buffer' | 'base64') => Buffer | string;
const hash: OneShot | undefined = (crypto as unknown as { hash?: OneShot }).hash;

// Shared by every key: a signature is computed synchronously, start to end.
const inner = Buffer.allocUnsafe(BLOCK + MAX_VALUE);
const outer = Buffer.allocUnsafe(BLOCK + 32);

export class HmacKey {
  readonly #secret: string | Buffer;
  readonly #ipad: Buffer;
  readonly #opad: Buffer;

  constructor(secret: string | Buffer) {
    this.#secret = secret;
    let k = typeof secret === 'string' ? Buffer.from(secret, 'utf8') : secret;
    if (k.length > BLOCK) k = crypto.createHash('sha256').update(k).digest();
    this.#ipad = Buffer.alloc(BLOCK, 0x36);
    this.#opad = Buffer.alloc(BLOCK, 0x5c);
    for (let i = 0; i < k.length; i++) {
      this.#ipad[i]! ^= k[i]!;
      this.#opad[i]! ^= k[i]!;
    }
  }

  /** base64 of the MAC without its '=' padding (43 characters), as cookie-signature writes it. */
  base64(value: string): string {
    if (hash === undefined || value.length > MAX_VALUE / 3) return this.#slow(value);
    this.#ipad.copy(inner, 0);
    const n = inner.write(value, BLOCK, 'utf8');
    this.#opad.copy(outer, 0);
    (hash('sha256', inner.subarray(0, BLOCK + n), 'buffer') as Buffer).copy(outer, BLOCK);
    return (hash('sha256', outer, 'base64') as string).slice(0, 43);
  }

  #slow(value: string): string {
    return crypto.createHmac('sha256', this.#secret).update(value).digest('base64').slice(0, 43);
  }
}
