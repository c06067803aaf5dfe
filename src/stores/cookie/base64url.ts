/**
 * Strict base64url (RFC 4648 section 5, no padding) for cookie values.
 *
 * `Buffer.from(s, 'base64url')` is lenient: it skips characters outside the
 * alphabet, accepts padding and ignores the unused low bits of the last
 * character, so many strings decode to the same bytes. A cookie value is
 * accepted here only in the one form `toString('base64url')` produces.
 */

const ALPHABET = /^[A-Za-z0-9_-]*$/;
/** 6-bit value of each alphabet character, by char code (only read for alphabet chars). */
const VALUE = new Uint8Array(128);
for (let i = 0; i < 64; i++) {
  VALUE['ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'.charCodeAt(i)] = i;
}

/** The bytes of a canonical unpadded base64url string, or null for anything else. */
export function decodeBase64url(s: string): Buffer | null {
  const rest = s.length & 3;
  // One character past a 4-character group carries only 6 of 8 bits: never canonical.
  if (rest === 1 || !ALPHABET.test(s)) return null;
  if (rest !== 0) {
    // Two trailing characters carry 8 bits (4 spare), three carry 16 (2 spare): spare bits must be 0.
    const last = VALUE[s.charCodeAt(s.length - 1)]!;
    if ((last & (rest === 2 ? 0x0f : 0x03)) !== 0) return null;
  }
  return Buffer.from(s, 'base64url');
}

/** Length of the unpadded base64url encoding of `n` bytes. */
export function base64urlLength(n: number): number {
  return Math.floor(n / 3) * 4 + [0, 2, 3][n % 3]!;
}
