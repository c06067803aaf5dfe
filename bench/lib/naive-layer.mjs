// The naive session layer: what a developer writes in ~25 lines without a
// library. It is the floor hotsession's session cost is measured against
// (bench/servers/naive-*.mjs over HTTP, bench/layer.mjs in-process):
// a regex finds the cookie, createHmac signs and verifies it, the data is
// JSON in a Map, and a cookie is signed on the first visit only.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** @param {string} name cookie name  @param {string} secret HMAC key */
export function naiveLayer(name, secret) {
  const records = new Map();
  const find = new RegExp(`(?:^|;\\s*)${name}=([^;]*)`);
  const sign = (id) => `s:${id}.${createHmac('sha256', secret).update(id).digest('base64url')}`;
  const fresh = () => ({ id: randomBytes(18).toString('base64url'), data: {}, fresh: true, changed: false });
  return {
    /** Cookie header -> { id, data, fresh, changed }; any bad cookie is a fresh session. */
    load(header) {
      const m = find.exec(header ?? '');
      if (m === null) return fresh();
      const v = decodeURIComponent(m[1]);
      const dot = v.lastIndexOf('.');
      if (!v.startsWith('s:') || dot < 3) return fresh();
      const id = v.slice(2, dot);
      const got = Buffer.from(v);
      const want = Buffer.from(sign(id));
      if (got.length !== want.length || !timingSafeEqual(got, want)) return fresh();
      const json = records.get(id);
      return json === undefined ? fresh() : { id, data: JSON.parse(json), fresh: false, changed: false };
    },
    /** Saves a changed session; the Set-Cookie value on a first visit, else null. */
    commit(s) {
      if (s.changed || s.fresh) records.set(s.id, JSON.stringify(s.data));
      return s.fresh ? `${name}=${encodeURIComponent(sign(s.id))}; Path=/; HttpOnly` : null;
    },
  };
}
