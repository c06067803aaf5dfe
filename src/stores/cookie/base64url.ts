/**
 * Strict base64url (RFC 4648 section 5, no padding) for cookie values.
 *
 * `Buffer.from(s, 'base64url')` is lenient: it skips characters outside the
 * alphabet, accepts padding and ignores the unused low bits of the last
 * character, so many strings decode to the same bytes. A cookie value is
 * accepted here only in the one form `toString('base64url')` produces:
 * decoding and encoding back must give the very same string. (Measured
 * faster than a regular expression over the alphabet on 400-character
 * values, and it checks the spare bits as well.)
 */

/** The bytes of a canonical unpadded base64url string, or null for anything else. */
export function decodeBase64url(s: string): Buffer | null {
  // One character past a 4-character group carries only 6 of 8 bits: never canonical.
  if ((s.length & 3) === 1) return null;
  const bytes = Buffer.from(s, 'base64url');
  return bytes.toString('base64url') === s ? bytes : null;
}

/** Length of the unpadded base64url encoding of `n` bytes. */
export function base64urlLength(n: number): number {
  return Math.floor(n / 3) * 4 + [0, 2, 3][n % 3]!;
}
