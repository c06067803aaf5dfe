import type { Client, Response } from 'memjs';

/**
 * The two binary-protocol requests memjs 1.3 has no API for: a GET that
 * reports the item's CAS ("gets"), and a SET that carries one (a
 * compare-and-swap). Both travel through memjs' own `perform`, so they
 * share its sockets, key hashing, failover and deadlines with every other
 * request of the client (see memcached's protocol_binary.txt).
 *
 * Request header (24 bytes, then extras, key, value):
 *
 *    0      1       2            4        5        6          8                12        16           24
 *   +------+-------+------------+--------+--------+----------+----------------+---------+------------+
 *   | 0x80 | opcode| keyLen u16 | extLen | 0x00   | vbucket 0| totalBody u32  | opaque  | CAS u64    |
 *   +------+-------+------------+--------+--------+----------+----------------+---------+------------+
 *
 *   SET extras: flags u32 (0, as memjs writes), expiration u32 (seconds, see expiry.ts).
 *   A SET whose CAS is not zero stores only if the item still has that CAS:
 *   status 0 = stored, 1 = the item is gone, 2 = it changed since (KEY_EXISTS).
 */

const MAGIC_REQUEST = 0x80;
const OP_GET = 0x00;
const OP_SET = 0x01;

export const STATUS_OK = 0x0000;
export const STATUS_NOT_FOUND = 0x0001;
export const STATUS_EXISTS = 0x0002;
export const STATUS_TOO_LARGE = 0x0003;

/** What a request answered: the status, the value (a hit) and the item's CAS (0n when the server runs with -C). */
export type Reply = (err: Error | null, status: number, value: Buffer | null, cas: bigint) => void;

function request(opcode: number, key: string, extras: number, value: Uint8Array | null, opaque: number, cas: bigint): Buffer {
  const klen = Buffer.byteLength(key);
  const vlen = value === null ? 0 : value.byteLength;
  const buf = Buffer.allocUnsafe(24 + extras + klen + vlen);
  buf[0] = MAGIC_REQUEST;
  buf[1] = opcode;
  buf.writeUInt16BE(klen, 2);
  buf[4] = extras;
  buf[5] = 0;
  buf.writeUInt16BE(0, 6);
  buf.writeUInt32BE(extras + klen + vlen, 8);
  buf.writeUInt32BE(opaque >>> 0, 12);
  buf.writeBigUInt64BE(cas, 16);
  buf.fill(0, 24, 24 + extras);
  buf.write(key, 24 + extras, klen);
  if (value !== null) buf.set(value, 24 + extras + klen);
  return buf;
}

function send(client: Client, key: string, build: (opaque: number) => Buffer, reply: Reply): void {
  client.incrSeq();
  const seq = client.seq;
  client.perform(key, build(seq), seq, (err: Error | null, response: Response | null) => {
    if (err || response === null) {
      reply(err ?? new Error('memcached: no response'), -1, null, 0n);
      return;
    }
    const h = response.header;
    // The CAS as a number, not a Buffer: a small Buffer kept in the version
    // cache would pin a whole 8 KiB pool slab. The value stays a view into
    // memjs' receive buffer, as a plain get returns it.
    reply(null, h.status, response.val, h.cas.readBigUInt64BE(0));
  });
}

/** GET with the item's CAS. A miss answers STATUS_NOT_FOUND. */
export function gets(client: Client, key: string, reply: Reply): void {
  send(client, key, (opaque) => request(OP_GET, key, 0, null, opaque, 0n), reply);
}

/** SET that stores only while the item still has `cas` (see the module comment). */
export function casSet(client: Client, key: string, value: Uint8Array, expiration: number, cas: bigint, reply: Reply): void {
  send(client, key, (opaque) => {
    const buf = request(OP_SET, key, 8, value, opaque, cas);
    buf.writeUInt32BE(expiration >>> 0, 28);
    return buf;
  }, reply);
}
