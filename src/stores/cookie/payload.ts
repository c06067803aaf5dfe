import { MAX_TIME } from '../../codec/layout';

/**
 * What a cookie carries inside its envelope (sealed or signed):
 *
 *    0         1        1+n              9+n
 *   +---------+--------+----------------+--------------- - -
 *   | idLen u8| id (n) | createdAt u64BE| msgpack data
 *   +---------+--------+----------------+--------------- - -
 *
 *   id: 1..255 visible ASCII characters (what the manager's ids are);
 *   data: the session values, encoded by src/codec/msgpack.ts.
 */

const MIN = 1 + 1 + 8 + 1;

/** Builds the payload; `body` is the encoded data. */
export function packPayload(id: string, createdAt: number, body: Uint8Array): Buffer {
  const n = id.length;
  if (n < 1 || n > 255 || !isVisibleAscii(id)) throw new TypeError('session ids must be 1..255 visible ASCII characters');
  if (!Number.isInteger(createdAt) || createdAt < 0 || createdAt > MAX_TIME) throw new RangeError('createdAt must be an integer ms timestamp');
  const out = Buffer.allocUnsafe(1 + n + 8 + body.length);
  out[0] = n;
  out.write(id, 1, 'latin1');
  out.writeUInt32BE(Math.floor(createdAt / 0x100000000), 1 + n);
  out.writeUInt32BE(createdAt >>> 0, 5 + n);
  out.set(body, 9 + n);
  return out;
}

/** The parts of an authenticated payload, or null when its layout is wrong. */
export function unpackPayload(p: Buffer): { id: string; createdAt: number; body: Buffer } | null {
  if (p.length < MIN) return null;
  const n = p[0]!;
  if (n === 0 || 9 + n >= p.length) return null;
  for (let i = 1; i <= n; i++) {
    const c = p[i]!;
    if (c < 0x21 || c > 0x7e) return null;
  }
  const hi = p.readUInt32BE(1 + n);
  if (hi > 0x1fffff) return null; // past 2^53: not a timestamp we wrote
  const createdAt = hi * 0x100000000 + p.readUInt32BE(5 + n);
  return { id: p.toString('latin1', 1, 1 + n), createdAt, body: p.subarray(9 + n) };
}

function isVisibleAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}
