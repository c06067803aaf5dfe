import { optionsError } from '../../errors';

/*
 * The shared table's memory: one SharedArrayBuffer of exactly `maxBytes`
 * bytes, laid out once by the thread that creates it and read back by every
 * thread that attaches to it.
 *
 *   0        256             4352           seg table        index            segments
 *   +--------+---------------+--------------+----------------+----------------+------------------------+
 *   | header | stats stripes | (pad to 64)  | 32 B / segment | 8 slots/bucket | P segments of segUnits |
 *   +--------+---------------+--------------+----------------+----------------+------------------------+
 *
 * header (Int32 words unless noted):
 *   [0] magic 'hsm1'  [1] layout version  [2] bucketCount  [3] segUnits
 *   [4] P (segments)  [6] hash seed  [7] maxRecordSize  [8] maxEntries
 *   f64 at 64: maxBytes, 72: creation time (ms), 80: index offset,
 *   88: segments offset, 104: segment table offset
 *   [32] small log's current segment, [40] age counter, [41] reservation
 *   tokens (same line: they move once per segment filled), [48] main log's
 *   current segment
 *
 * segment table entry (8 Int32 words per segment; log.ts and pool.ts say how they move):
 *   owner     -1 free, 0 small log, 1 main log, >= 2 reserved under that token
 *   epoch     +1 each time the segment is handed to a log; slot pointers carry
 *             its low 12 bits, so a pointer into a reused segment fails validation
 *   fill      next free unit, or CLOSED once a reclaim started
 *   inflight  writers between their claim and their publish
 *   stamp     seconds since creation when a reclaim or a reservation began (0: none)
 *   age       when the segment was handed to its log (the oldest is reclaimed first)
 *   sealed    the fill a reclaim closed (where its walk ends), -1 unknown
 *   stuck     seconds since creation when a reclaim first found writers in flight
 *
 * index: bucketCount + 1 buckets of 8 slots (one cache line), one 64-bit
 * word per slot (slots.ts); an id lives in its bucket or the next (SPAN).
 *
 * block (16-byte units, in a segment):
 *   +0 lenword = (epoch & 0xff) << 24 | units   +4 bucket   +8 hash   +12 keyLen
 *   +16 expiresAt f64                           +24 recLen  +28 0
 *   +32 key bytes, padded to 16, then the record: the key shares the header's
 *       cache lines (a lookup touches one line fewer), and the record stays
 *       16-aligned (an aligned source copies out of shared memory about 3x
 *       faster than an unaligned one)
 */

export const MAGIC = 0x68736d31;
export const LAYOUT_VERSION = 1;

/** Bytes per allocation unit; blocks and segments are whole units. */
export const UNIT = 16;
export const BLOCK_HEADER = 32;

/** Bytes from a block's start to its record, for a key of `klen` bytes. */
export function recordOffset(klen: number): number {
  return BLOCK_HEADER + ((klen + 15) & ~15);
}
export const SLOTS_PER_BUCKET = 8;
/**
 * Slots an id may occupy: its bucket, then the next one. An 8-slot bucket
 * alone overflows for about 2% of buckets at half load (Poisson tail); with
 * the neighbour's line as overflow, both must be full (about 0.05%).
 */
export const SPAN = 2 * SLOTS_PER_BUCKET;

/** Slots in the index: one bucket more than the hash addresses, so a span never wraps. */
export function slotCount(g: Geometry): number {
  return (g.bucketCount + 1) * SLOTS_PER_BUCKET;
}
/** Longest key (session id) in UTF-8 bytes: the core's ids are at most 255 visible ASCII characters. */
export const MAX_KEY_BYTES = 255;
export const MIN_BYTES = 2 ** 20;
/** A Uint8Array cannot be longer (buffer.constants.MAX_LENGTH on 64-bit Node 20). */
export const MAX_BYTES = 2 ** 32;
/** Offsets within a segment are 22-bit unit counts (slots.ts): 64 MiB at most. */
const MAX_SEG_UNITS = 2 ** 22;
/**
 * Segments of 256 KiB: a reclaim walks one segment (about 1,000 blocks of a
 * few hundred bytes) in a fraction of a millisecond, once per 256 KiB written.
 */
const PREFERRED_SEG_BYTES = 256 * 1024;
const MIN_SEG_BYTES = 4096;
/** Fewer segments make the queues coarse; at least 32 when the table allows. */
const WANTED_SEGMENTS = 32;
export const MIN_SEGMENTS = 8;
/** Slot pointers hold an 11-bit segment number; a scan over all segments stays short. */
export const MAX_SEGMENTS = 2048;
export const DEFAULT_MAX_RECORD = 64 * 1024;
/** Default index sizing: one entry per 512 bytes of table. */
export const BYTES_PER_ENTRY = 512;

export const STATS_AT = 256;
export const STAT_STRIPES = 64;
/** Float64 counters per stripe (one 64-byte line each). */
export const STAT_FIELDS = 8;
const SEG_TABLE_AT = STATS_AT + STAT_STRIPES * STAT_FIELDS * 8;
export const SEG_ENTRY_WORDS = 8;
/** Segment table words (offsets within an entry). */
export const S = { owner: 0, epoch: 1, fill: 2, inflight: 3, stamp: 4, age: 5, sealed: 6, stuck: 7 } as const;
export const FREE = -1;
export const RESERVED = 2;
export const CLOSED = 0x7fffffff;

/** Header word indexes (Int32). */
export const H = {
  magic: 0, version: 1, buckets: 2, segUnits: 3, segments: 4, seed: 6, maxRecord: 7, maxEntries: 8,
  curSmall: 32, ages: 40, tokens: 41, curMain: 48,
} as const;
/** Header Float64 indexes. */
export const HF = { maxBytes: 8, created: 9, indexAt: 10, segmentsAt: 11, segTableAt: 13 } as const;

export const LOG_SMALL = 0;
export const LOG_MAIN = 1;

/** Everything a thread needs to address the table, computed once and stored in the header. */
export interface Geometry {
  maxBytes: number;
  maxEntries: number;
  maxRecordSize: number;
  bucketCount: number;
  segUnits: number;
  /** Segments shared by both logs. */
  segments: number;
  segTableAt: number;
  indexAt: number;
  /** Byte offset of segment 0. */
  segmentsAt: number;
}

function align64(n: number): number {
  return Math.ceil(n / 64) * 64;
}

function prevPow2(n: number): number {
  return 2 ** Math.floor(Math.log2(n));
}

function nextPow2(n: number): number {
  return 2 ** Math.ceil(Math.log2(Math.max(1, n)));
}

/** Largest maxRecordSize a segment of `segUnits` units can hold next to the longest key. */
function recordRoom(segUnits: number): number {
  return segUnits * UNIT - recordOffset(MAX_KEY_BYTES);
}

/**
 * Lays out a table of `maxBytes` bytes. `maxEntries` sizes the index (two
 * slots per entry, rounded up to a power-of-two number of buckets); the rest
 * is segments, shared by both logs. Throws an options error when the numbers
 * cannot fit.
 */
export function computeGeometry(maxBytes: number, maxEntries: number | undefined, maxRecordSize: number | undefined): Geometry {
  if (!Number.isInteger(maxBytes) || maxBytes < MIN_BYTES || maxBytes > MAX_BYTES) {
    throw optionsError(`SharedMemoryStore maxBytes must be an integer in [${MIN_BYTES}, ${MAX_BYTES}]`);
  }
  // Whole cache lines (and whole Float64 words for the views over the table).
  maxBytes -= maxBytes % 64;
  const entries = maxEntries ?? Math.floor(maxBytes / BYTES_PER_ENTRY);
  if (!Number.isInteger(entries) || entries < 1) throw optionsError('SharedMemoryStore maxEntries must be a positive integer');
  if (maxRecordSize !== undefined && (!Number.isInteger(maxRecordSize) || maxRecordSize < 1 || maxRecordSize > recordRoom(MAX_SEG_UNITS))) {
    throw optionsError(`SharedMemoryStore maxRecordSize must be an integer in [1, ${recordRoom(MAX_SEG_UNITS)}]`);
  }
  const bucketCount = Math.max(8, nextPow2(Math.ceil((entries * 2) / SLOTS_PER_BUCKET)));
  if (bucketCount > 2 ** 27) throw optionsError('SharedMemoryStore maxEntries is too large');
  const indexBytes = (bucketCount + 1) * SLOTS_PER_BUCKET * 8;
  const tableBytes = align64(MAX_SEGMENTS * SEG_ENTRY_WORDS * 4);
  const indexAt = align64(SEG_TABLE_AT + tableBytes);
  const segmentsAt = indexAt + indexBytes;
  const logBytes = maxBytes - segmentsAt;
  if (logBytes < MIN_SEGMENTS * MIN_SEG_BYTES) throw optionsError(`SharedMemoryStore maxBytes ${maxBytes} leaves too little room for records next to the index (lower maxEntries)`);
  // As many segments as makes the queues fine-grained, of at most 256 KiB,
  // unless a big table needs bigger ones to stay within MAX_SEGMENTS.
  let segBytes = Math.max(MIN_SEG_BYTES, Math.min(PREFERRED_SEG_BYTES, prevPow2(logBytes / WANTED_SEGMENTS)));
  segBytes = Math.max(segBytes, nextPow2(logBytes / MAX_SEGMENTS));
  const wanted = maxRecordSize ?? DEFAULT_MAX_RECORD;
  // A record (with the longest key) must fit in one segment.
  const need = nextPow2(wanted + recordOffset(MAX_KEY_BYTES));
  if (need > segBytes) {
    if (logBytes / need >= MIN_SEGMENTS) segBytes = need;
    else if (maxRecordSize !== undefined) throw optionsError(`SharedMemoryStore maxBytes ${maxBytes} is too small for records of ${maxRecordSize} bytes`);
  }
  const segUnits = segBytes / UNIT;
  const segments = Math.min(MAX_SEGMENTS, Math.floor(logBytes / segBytes));
  return {
    maxBytes,
    maxEntries: entries,
    maxRecordSize: Math.min(wanted, recordRoom(segUnits)),
    bucketCount,
    segUnits,
    segments,
    segTableAt: SEG_TABLE_AT,
    indexAt,
    segmentsAt,
  };
}

/** Writes a fresh table's header and segment table: segment 0 fills the small log, 1 the main log. */
export function initTable(sab: SharedArrayBuffer, g: Geometry, seed: number, now: number): void {
  const i32 = new Int32Array(sab);
  const f64 = new Float64Array(sab, 0, 32);
  i32[H.version] = LAYOUT_VERSION;
  i32[H.buckets] = g.bucketCount;
  i32[H.segUnits] = g.segUnits;
  i32[H.segments] = g.segments;
  i32[H.seed] = seed;
  i32[H.maxRecord] = g.maxRecordSize;
  i32[H.maxEntries] = Math.min(g.maxEntries, 0x7fffffff);
  f64[HF.maxBytes] = g.maxBytes;
  f64[HF.created] = now;
  f64[HF.indexAt] = g.indexAt;
  f64[HF.segmentsAt] = g.segmentsAt;
  f64[HF.segTableAt] = g.segTableAt;
  for (let p = 0; p < g.segments; p++) {
    const e = segEntry(g, p);
    const log = p < 2 ? p : FREE;
    i32[e + S.owner] = log;
    i32[e + S.epoch] = log === FREE ? 0 : 1;
    i32[e + S.fill] = log === FREE ? CLOSED : 0;
    i32[e + S.age] = log === FREE ? 0 : p + 1;
    i32[e + S.sealed] = -1;
  }
  i32[H.curSmall] = 0;
  i32[H.curMain] = 1;
  i32[H.ages] = 2;
  // The magic goes last: a thread that attaches never sees a half-written header.
  Atomics.store(i32, H.magic, MAGIC);
}

/** Int32 index of segment `p`'s table entry. */
export function segEntry(g: Geometry, p: number): number {
  return (g.segTableAt >>> 2) + p * SEG_ENTRY_WORDS;
}

/** Reads the geometry back from a table another thread created; null when it is not one. */
export function readGeometry(sab: SharedArrayBuffer): Geometry | null {
  if (sab.byteLength < MIN_BYTES) return null;
  const i32 = new Int32Array(sab, 0, 64);
  const f64 = new Float64Array(sab, 0, 32);
  if (Atomics.load(i32, H.magic) !== MAGIC || i32[H.version] !== LAYOUT_VERSION) return null;
  return {
    maxBytes: f64[HF.maxBytes]!,
    maxEntries: i32[H.maxEntries]!,
    maxRecordSize: i32[H.maxRecord]!,
    bucketCount: i32[H.buckets]!,
    segUnits: i32[H.segUnits]!,
    segments: i32[H.segments]!,
    segTableAt: f64[HF.segTableAt]!,
    indexAt: f64[HF.indexAt]!,
    segmentsAt: f64[HF.segmentsAt]!,
  };
}
