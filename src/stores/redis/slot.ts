/**
 * Redis Cluster key slots: CRC16 (XMODEM: polynomial 0x1021, initial value 0)
 * of the key's bytes, modulo 16384. When the key holds a non-empty hash tag
 * (`{...}`: the first `{` and the first `}` after it), only the tag is hashed,
 * which is what lets users pin related keys to one slot with a prefix like
 * `sess:{app}:`.
 *
 * Computed here rather than imported so `hotsession/redis` depends on nothing
 * at runtime but the client the user hands it.
 */

/** Number of hash slots in a Redis Cluster. */
export const SLOTS = 16384;

const TABLE = buildTable();

function buildTable(): Uint16Array {
  const table = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let crc = i << 8;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
    table[i] = crc;
  }
  return table;
}

function crc16(bytes: Uint8Array, start: number, end: number): number {
  let crc = 0;
  for (let i = start; i < end; i++) crc = ((crc << 8) & 0xffff) ^ TABLE[((crc >> 8) ^ bytes[i]!) & 0xff]!;
  return crc;
}

/** The cluster slot (0..16383) that serves `key`. */
export function keySlot(key: string): number {
  // Slots are defined on bytes: a non-ASCII prefix must hash as UTF-8.
  const bytes = Buffer.from(key, 'utf8');
  const open = bytes.indexOf(0x7b);
  if (open !== -1) {
    const close = bytes.indexOf(0x7d, open + 1);
    if (close > open + 1) return crc16(bytes, open + 1, close) % SLOTS;
  }
  return crc16(bytes, 0, bytes.length) % SLOTS;
}
