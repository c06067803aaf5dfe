import { isoString } from '../../core/dates';
import { Cookie } from './cookie';

/**
 * The session's data serialized as JSON without its `cookie`: what
 * express-session hashes (sha1) to notice changes. Comparing these strings
 * directly gives the same answers without the hashing.
 *
 * Instead of a replacer function (which puts JSON.stringify on its slow path)
 * the cookie is blanked for the duration of the call: JSON omits undefined
 * values, so the output is the same and the object keeps its shape.
 */
export function fingerprint(sess: Record<string, any>): string {
  if (!Object.prototype.hasOwnProperty.call(sess, 'cookie')) return JSON.stringify(sess);
  const cookie = sess.cookie;
  try {
    sess.cookie = undefined;
  } catch {
    // A non-writable `cookie`: take the slow road.
    return JSON.stringify(sess, function (this: unknown, key, value) {
      return this === sess && key === 'cookie' ? undefined : value;
    });
  }
  try {
    return JSON.stringify(sess);
  } finally {
    sess.cookie = cookie;
  }
}

/** Marks a top-level value JSON leaves out (undefined, a function, a symbol). */
const OMIT = Symbol('omit');

/**
 * What `JSON.parse(JSON.stringify(sess))` gives (what express-session's
 * stores keep), built key by key: primitives are taken as they are and only
 * objects make the round trip, so a session of strings and numbers costs no
 * JSON at all. The per-key records then encode each value on its own.
 *
 * One difference no store can see: a value's `toJSON` is called with the key
 * '' instead of its own key. A session with a `toJSON` of its own goes
 * through JSON whole, as it would in express-session.
 */
export function storedForm(sess: Record<string, any>): Record<string, unknown> {
  if (typeof sess.toJSON === 'function') return JSON.parse(JSON.stringify(sess)) as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(sess)) {
    const v = jsonValue(sess[key]);
    if (v === OMIT) continue;
    // An own `__proto__` stays an own key, as in JSON's output (the encoder then refuses it, naming it).
    if (key === '__proto__') Object.defineProperty(out, key, { value: v, enumerable: true, writable: true, configurable: true });
    else out[key] = v;
  }
  return out;
}

function jsonValue(v: unknown): unknown {
  // Every save carries the cookie (its expiry moves): its JSON is built field by field.
  // Profiled on bench/express-layer.mjs /write: the round trip was ~10% of the request.
  if (v instanceof Cookie && v.toJSON === Cookie.prototype.toJSON) return cookieJson(v);
  switch (typeof v) {
    case 'string':
    case 'boolean':
      return v;
    case 'number':
      return Number.isFinite(v) ? v : null;
    case 'undefined':
    case 'function':
    case 'symbol':
      return OMIT;
    default: {
      if (v === null) return null;
      // Objects, and BigInt (which JSON refuses: the TypeError is the save's error, as in express-session).
      const s = JSON.stringify(v);
      return s === undefined ? OMIT : JSON.parse(s);
    }
  }
}

/** `JSON.parse(JSON.stringify(cookie))` for a Cookie whose fields are primitives or a Date `expires` (the fields and order of `Cookie#data`). */
function cookieJson(c: Cookie): unknown {
  const out: Record<string, unknown> = {};
  if (!(put(out, 'originalMaxAge', c.originalMaxAge) && put(out, 'partitioned', c.partitioned) && put(out, 'priority', c.priority))) return slowCookie(c);
  const e = c._expires;
  if (e instanceof Date && e.toJSON === Date.prototype.toJSON) out.expires = Number.isFinite(e.getTime()) ? isoString(e) : null;
  else if (!put(out, 'expires', e)) return slowCookie(c);
  const ok = put(out, 'secure', c.secure) && put(out, 'httpOnly', c.httpOnly) && put(out, 'domain', c.domain) && put(out, 'path', c.path) && put(out, 'sameSite', c.sameSite);
  return ok ? out : slowCookie(c);
}

/** Sets `out[key]` to JSON's view of a primitive `v` (nothing for what JSON leaves out); false for an object. */
function put(out: Record<string, unknown>, key: string, v: unknown): boolean {
  if (typeof v === 'object' && v !== null) return false;
  const j = jsonValue(v);
  if (j !== OMIT) out[key] = j;
  return true;
}

/** Something odd in a field: JSON decides for the whole cookie. */
function slowCookie(c: Cookie): unknown {
  const s = JSON.stringify(c);
  return s === undefined ? OMIT : JSON.parse(s);
}
