/**
 * The rules a v2 buffer's keys obey (layout.ts): valid UTF-8, never
 * `__proto__`, `constructor` or `prototype`, distinct within one buffer.
 * Checked on the bytes, never on decoded strings; the addon's record.cc
 * applies the same rules and must give the same answers.
 */

function same(b: Uint8Array, at: number, s: string): boolean {
  for (let i = 0; i < s.length; i++) if (b[at + i] !== s.charCodeAt(i)) return false;
  return true;
}

export function isForbidden(b: Uint8Array, at: number, len: number): boolean {
  if (len === 9) return same(b, at, '__proto__') || same(b, at, 'prototype');
  return len === 11 && same(b, at, 'constructor');
}

/** Strict UTF-8 (no overlongs, no surrogates, nothing past U+10FFFF), as the native scanner checks it. */
export function isUtf8(b: Uint8Array, at: number, end: number): boolean {
  let i = at;
  while (i < end) {
    const c = b[i]!;
    if (c < 0x80) { i++; continue; }
    let n: number;
    let min: number;
    let cp: number;
    if (c >= 0xc2 && c <= 0xdf) { n = 1; min = 0x80; cp = c & 0x1f; }
    else if (c >= 0xe0 && c <= 0xef) { n = 2; min = 0x800; cp = c & 0x0f; }
    else if (c >= 0xf0 && c <= 0xf4) { n = 3; min = 0x10000; cp = c & 0x07; }
    else return false;
    if (i + n >= end) return false;
    for (let k = 1; k <= n; k++) {
      const d = b[i + k]!;
      if ((d & 0xc0) !== 0x80) return false;
      cp = (cp << 6) | (d & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    i += n + 1;
  }
  return true;
}

export function sameBytes(b: Uint8Array, at: number, c: Uint8Array, cat: number, len: number): boolean {
  for (let i = 0; i < len; i++) if (b[at + i] !== c[cat + i]) return false;
  return true;
}

/** True when two keys of one buffer are equal (pairwise for few keys, a hash table past that). */
export function hasDuplicate(b: Uint8Array, index: Uint32Array, base: number, count: number): boolean {
  if (count < 2) return false;
  if (count <= 16) {
    for (let i = 0; i < count; i++) {
      const ia = index[base + 4 * i]!;
      const il = index[base + 4 * i + 1]!;
      for (let j = i + 1; j < count; j++) {
        if (index[base + 4 * j + 1] === il && sameBytes(b, ia, b, index[base + 4 * j]!, il)) return true;
      }
    }
    return false;
  }
  return hasDuplicateHashed(b, index, base, count);
}

// Open-addressing table for hasDuplicateHashed: entry + 1 per slot (0 =
// empty) and the key's hash, reused between scans.
let slots = new Int32Array(64);
let hashes = new Int32Array(64);

/**
 * Linear probing over an FNV-1a hash of the key bytes: about 5x cheaper than
 * a Set of latin1 strings at 26 keys (bench/record-codec.mjs, "scan 2 KB
 * record"). FNV is easy to collide on purpose, so past a probe budget that
 * only crafted collisions reach, the Set (the reference's own algorithm)
 * decides instead.
 */
function hasDuplicateHashed(b: Uint8Array, index: Uint32Array, base: number, count: number): boolean {
  let cap = 64;
  while (cap < 2 * count) cap *= 2;
  if (slots.length < cap) {
    slots = new Int32Array(cap);
    hashes = new Int32Array(cap);
  } else {
    slots.fill(0, 0, cap);
  }
  const mask = cap - 1;
  let budget = 4 * count + 64;
  for (let i = 0; i < count; i++) {
    const at = index[base + 4 * i]!;
    const len = index[base + 4 * i + 1]!;
    let h = 0x811c9dc5 ^ len;
    for (let k = 0; k < len; k++) h = Math.imul(h ^ b[at + k]!, 0x01000193);
    let pos = h & mask;
    for (let s = slots[pos]!; s !== 0; s = slots[pos]!) {
      const j = s - 1;
      if (hashes[pos] === h && index[base + 4 * j + 1] === len && sameBytes(b, index[base + 4 * j]!, b, at, len)) return true;
      if (--budget < 0) return hasDuplicateBySet(b, index, base, count);
      pos = (pos + 1) & mask;
    }
    slots[pos] = i + 1;
    hashes[pos] = h;
  }
  if (cap > 1 << 16) {
    slots = new Int32Array(64);
    hashes = new Int32Array(64);
  }
  return false;
}

function hasDuplicateBySet(b: Uint8Array, index: Uint32Array, base: number, count: number): boolean {
  const buf = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  const seen = new Set<string>();
  for (let i = 0; i < count; i++) {
    const at = index[base + 4 * i]!;
    const k = buf.toString('latin1', at, at + index[base + 4 * i + 1]!);
    if (seen.has(k)) return true;
    seen.add(k);
  }
  return false;
}
