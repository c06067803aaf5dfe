import { codes, HotsessionError } from '../../errors';
import type { WriteOp } from '../batcher';
import type { PatchOutcome } from '../types';

/**
 * What one op's entry in the write script's reply (lua.ts) means, as the
 * batcher expects it (FlushWrites): a patch's PatchOutcome, a forward's
 * previous value (a Buffer, or null), undefined for a plain success, or an
 * Error for an op that failed alone.
 */

const GONE = 1;
const STALE = 2;
const TOO_LARGE = 3;
const MALFORMED = 4;
const TAG_MOVED = 0x4d; // 'M'
const TAG_RECORD = 0x52; // 'R'

/** The error of a patch whose result would pass `maxRecordSize`. */
export function tooLarge(what: string, size: number | null, max: number): HotsessionError {
  const got = size === null ? '' : ` (${size} bytes)`;
  return new HotsessionError(codes.RECORD_TOO_LARGE, `${what}${got} is larger than maxRecordSize (${max} bytes)`);
}

/** The error of a patch that is not a well-formed v2 PATCH. */
export function malformedPatch(): HotsessionError {
  return new HotsessionError(codes.ENCODE, 'the patch is not a well-formed v2 PATCH (src/codec/layout.ts)');
}

/** The result an op of `kind` carries when its reply entry is `entry`. */
export function decodeEntry(kind: WriteOp['kind'], entry: unknown): unknown {
  if (entry === 0) return kind === 'patch' ? 'ok' : undefined;
  if (typeof entry === 'number') {
    if (entry === GONE) return kind === 'forward' ? null : ('gone' satisfies PatchOutcome);
    if (entry === STALE) return 'stale' satisfies PatchOutcome;
    if (entry === TOO_LARGE) return new HotsessionError(codes.RECORD_TOO_LARGE, 'the patched record would be larger than maxRecordSize; nothing was written');
    if (entry === MALFORMED) return malformedPatch();
    return new Error(`unexpected reply ${entry} from the write script`);
  }
  if (Buffer.isBuffer(entry) && entry.length > 0) {
    if (entry[0] === TAG_RECORD) return entry.subarray(1);
    if (entry[0] === TAG_MOVED) return { movedTo: entry.toString('latin1', 1) } satisfies PatchOutcome;
    return new Error(entry.toString('utf8', 1));
  }
  return new Error(`unexpected reply ${String(entry)} from the write script`);
}
