import { kJson } from './symbols';

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

/**
 * The whole session as JSON (what express-session stores write). Reuses the
 * middleware's fingerprint when it is current, adding the cookie in front.
 */
export function sessionJson(sess: Record<string, any>): string {
  const data = (sess as { [kJson]?: string })[kJson];
  if (data === undefined || !sess.cookie) return JSON.stringify(sess);
  const cookie = JSON.stringify(sess.cookie);
  if (cookie === undefined) return data;
  return data.length === 2 ? '{"cookie":' + cookie + '}' : '{"cookie":' + cookie + ',' + data.slice(1);
}
