import { DELETE, FLAG_CLEAR, FRAME_MAGIC, KIND_RECORD, RECORD_HEADER, RECORD_VERSION } from '../../codec/layout';
import type { RecordView } from '../../codec/record';
import { copyRange } from './bytes';

/**
 * apply (src/codec/layout.ts) as the memory stores run it: the same bytes as
 * `codec.apply`, written straight into the store's own memory instead of a
 * new buffer that is then copied (the profile of the in-process request loop
 * put `codec.apply` and its copy at a fifth of a request).
 *
 * The stored record is not scanned again: the store checked it when it took
 * it (`codec.scan` on `set`) or built it here from a scanned patch, so a
 * walk of its entries is enough. The patch is the caller's and arrives
 * scanned (`pv`).
 */

function u16(b: Uint8Array, at: number): number {
  return (b[at]! << 8) | b[at + 1]!;
}

function u32(b: Uint8Array, at: number): number {
  return b[at]! * 0x1000000 + ((b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!);
}

function putU32(b: Uint8Array, at: number, v: number): void {
  b[at] = v >>> 24;
  b[at + 1] = (v >>> 16) & 0xff;
  b[at + 2] = (v >>> 8) & 0xff;
  b[at + 3] = v & 0xff;
}

/** True when the patch has an entry whose key is `rec[kat, kat+klen)`. */
function named(patch: Uint8Array, pv: RecordView, rec: Uint8Array, kat: number, klen: number): boolean {
  const ix = pv.index;
  outer: for (let j = 0; j < pv.count; j++) {
    if (ix[4 * j + 1] !== klen) continue;
    const pat = ix[4 * j]!;
    for (let c = 0; c < klen; c++) if (patch[pat + c] !== rec[kat + c]) continue outer;
    return true;
  }
  return false;
}

/** Bytes of the record `patch` makes of the one at `rec[start…]` (null: CLEAR, or nothing before). */
export function appliedSize(rec: Uint8Array | null, start: number, patch: Uint8Array, pv: RecordView): number {
  let size = RECORD_HEADER;
  if (rec !== null && (pv.flags & FLAG_CLEAR) === 0) {
    const count = u32(rec, start + 24);
    let pos = start + RECORD_HEADER;
    for (let i = 0; i < count; i++) {
      const klen = u16(rec, pos);
      const end = pos + 6 + klen + u32(rec, pos + 2 + klen);
      if (!named(patch, pv, rec, pos + 2, klen)) size += end - pos;
      pos = end;
    }
  }
  const ix = pv.index;
  for (let j = 0; j < pv.count; j++) {
    const vlen = ix[4 * j + 3]!;
    if (vlen !== DELETE) size += 6 + ix[4 * j + 1]! + vlen;
  }
  return size;
}

/** Writes that record at `out[at…]` (exactly `appliedSize` bytes). */
export function applyInto(rec: Uint8Array | null, start: number, patch: Uint8Array, pv: RecordView, out: Uint8Array, at: number): void {
  out[at] = FRAME_MAGIC;
  out[at + 1] = RECORD_VERSION;
  out[at + 2] = KIND_RECORD;
  out[at + 3] = 0;
  // expiresAt, createdAt and nameTag are the patch's.
  copyRange(patch, 4, 24, out, at + 4);
  let n = 0;
  let w = at + RECORD_HEADER;
  if (rec !== null && (pv.flags & FLAG_CLEAR) === 0) {
    const count = u32(rec, start + 24);
    let pos = start + RECORD_HEADER;
    // Kept entries are copied in runs: consecutive ones are contiguous in both records.
    let run = pos;
    for (let i = 0; i < count; i++) {
      const klen = u16(rec, pos);
      const end = pos + 6 + klen + u32(rec, pos + 2 + klen);
      if (named(patch, pv, rec, pos + 2, klen)) {
        copyRange(rec, run, pos, out, w);
        w += pos - run;
        run = end;
      } else {
        n++;
      }
      pos = end;
    }
    copyRange(rec, run, pos, out, w);
    w += pos - run;
  }
  const ix = pv.index;
  for (let j = 0; j < pv.count; j++) {
    const vlen = ix[4 * j + 3]!;
    if (vlen === DELETE) continue;
    const from = ix[4 * j]! - 2;
    const end = ix[4 * j + 2]! + vlen;
    copyRange(patch, from, end, out, w);
    w += end - from;
    n++;
  }
  putU32(out, at + 24, n);
}
