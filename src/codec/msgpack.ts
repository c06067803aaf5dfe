import { Packr } from 'msgpackr';
import { codes, HotsessionError } from '../errors';

/**
 * The one msgpack configuration every record body uses. Records are plain
 * data: no record structures (their shared-structure state would make a
 * record depend on what was encoded before it), BigInts as an extension.
 */
const packr = new Packr({ useRecords: false, moreTypes: true, useBigIntExtension: true, mapsAsObjects: true });

/** Encodes session data; a value msgpack cannot carry is a coded error. */
export function encodeData(data: Record<string, unknown>): Buffer {
  try {
    return packr.pack(data);
  } catch (err) {
    throw new HotsessionError(codes.ENCODE, `session data cannot be encoded: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * Decodes a record body. Untrusted: anything but a plain object at the top
 * (or a body msgpackr refuses) gives null, which the caller treats as no session.
 */
export function decodeData(body: Uint8Array): Record<string, unknown> | null {
  try {
    const value: unknown = packr.unpack(body);
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return null;
    const proto = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) return null;
    return value as Record<string, unknown>;
  } catch {
    return null;
  }
}
