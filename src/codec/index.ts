import { jsCodec } from './js';
import type { Codec } from './types';

/**
 * Picks the codec once per process: the native addon when it loads and
 * `HOTSESSION_NO_NATIVE` is not set, the JS fallback otherwise.
 */
function pick(): Codec {
  if (process.env.HOTSESSION_NO_NATIVE) return jsCodec;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const mod = require('./native') as { loadNativeCodec(): Codec | null };
    return mod.loadNativeCodec() ?? jsCodec;
  } catch {
    return jsCodec;
  }
}

/** The active codec. */
export const codec: Codec = pick();

/** True when the native addon is active, false on the JS fallback. */
export function isNativeEnabled(): boolean {
  return codec.native;
}

export { jsCodec };
export { deriveKey, keyId } from './keys';
export type { Codec, Frame, Opened, Sealer, Signer } from './types';
