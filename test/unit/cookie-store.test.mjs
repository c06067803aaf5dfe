// CookieStore: every bad-input case of issue 4 gives null (a fresh session),
// never an exception; sizes fail loudly at write; keys rotate. Envelopes for
// the "valid tag, garbage inside" cases are built here with node:crypto from
// the documented wire layout, independently of the store's own code.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createCipheriv, createHash, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { createSessionManager, HotsessionError } from 'hotsession';
import { CookieStore } from 'hotsession/cookie';

const SECRET = 'a cookie-store test secret, 32+ bytes long';
const ID = 'Xk3pQ9vB2mN7sT1wE5rY8uI0oP4aS6dF';
const HOUR = 3_600_000;
const now = Date.now();
const MODES = ['sealed', 'signed'];

const header = (pairs) => pairs.map(([n, v]) => `${n}=${v}`).join('; ');
const store = (mode, extra = {}) => new CookieStore({ secret: SECRET, mode, ...extra });
const cookieOf = (s, data = { user: 'ada', n: 1 }, name = 'sid', exp = now + HOUR) => s.write(name, ID, data, exp, now - 1000);

// The same layouts as src/codec/layout.ts, src/stores/cookie/{payload,signed}.ts.
const keyIdOf = (key) => createHash('sha256').update('hotsession key id\0').update(key).digest().readUInt32BE(0);
const aeadKey = (secret) => Buffer.from(hkdfSync('sha256', secret, 'hotsession/v1', 'aes-256-gcm', 32));
const macKey = (secret) => Buffer.from(hkdfSync('sha256', secret, 'hotsession/v1', 'hotsession cookie hmac-sha256', 32));
function header13(version, key, expiresAt) {
  const h = Buffer.alloc(13);
  h[0] = version;
  h.writeUInt32BE(keyIdOf(key), 1);
  h.writeBigUInt64BE(BigInt(expiresAt), 5);
  return h;
}
function payload(body, { id = ID, createdAt = now } = {}) {
  const p = Buffer.alloc(1 + Buffer.byteLength(id, 'latin1') + 8);
  p[0] = Buffer.byteLength(id, 'latin1');
  p.write(id, 1, 'latin1');
  p.writeBigUInt64BE(BigInt(createdAt), 1 + p[0]);
  return Buffer.concat([p, body]);
}
function sealRaw(key, plaintext, { name = 'sid', expiresAt = now + HOUR } = {}) {
  const h = header13(1, key, expiresAt);
  const nonce = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', key, nonce);
  c.setAAD(h);
  c.setAAD(Buffer.from(name));
  const ct = Buffer.concat([c.update(plaintext), c.final()]);
  return Buffer.concat([h, nonce, ct, c.getAuthTag()]).toString('base64url');
}
function signRaw(key, p, { name = 'sid', expiresAt = now + HOUR } = {}) {
  const signed = Buffer.concat([header13(0x81, key, expiresAt), p]);
  const len = Buffer.alloc(2);
  len.writeUInt16BE(Buffer.byteLength(name));
  const mac = createHmac('sha256', key).update('hotsession signed cookie v1\0').update(len).update(name).update(signed).digest();
  return Buffer.concat([signed, mac]).toString('base64url');
}
const rawFor = (mode) => (mode === 'sealed' ? (p, o) => sealRaw(aeadKey(SECRET), p, o) : (p, o) => signRaw(macKey(SECRET), p, o));

// msgpack pieces for hand-made bodies.
const str = (s) => Buffer.concat([Buffer.from([0xa0 | s.length]), Buffer.from(s)]);
const map1 = (k, v) => Buffer.concat([Buffer.from([0x81]), str(k), v]);

describe('round trip', () => {
  for (const mode of MODES) {
    test(`${mode}: values, id, times and parts come back`, () => {
      const s = store(mode);
      const data = { user: 'ada', d: new Date(1_700_000_000_123), set: new Set([1, 'x']), buf: Buffer.from([1, 2, 3]), big: 2n ** 80n, arr: [undefined, null, 1.5], nested: { a: [{ b: 'ü€😀' }] } };
      const pairs = s.write('sid', ID, data, now + HOUR, now - 5);
      assert.equal(pairs.length, 1);
      assert.equal(pairs[0][0], 'sid');
      assert.match(pairs[0][1], /^[A-Za-z0-9_-]+$/);
      const r = s.read(`other=1; ${header(pairs)}; x=y`, 'sid', now);
      assert.deepEqual(r, { data, expiresAt: now + HOUR, createdAt: now - 5, id: ID, parts: 1 });
    });
  }

  test('a Map comes back as a plain object (documented)', () => {
    const s = store('sealed');
    const r = s.read(header(s.write('sid', ID, { m: new Map([['a', 1]]) }, now + HOUR, now)), 'sid', now);
    assert.deepEqual(r.data, { m: { a: 1 } });
  });

  test('sealed hides the data; signed shows it (base64url msgpack)', () => {
    const secretValue = 'visible-marker-123';
    const sealed = cookieOf(store('sealed'), { v: secretValue })[0][1];
    const signed = cookieOf(store('signed'), { v: secretValue })[0][1];
    assert.equal(Buffer.from(sealed, 'base64url').includes(secretValue), false);
    assert.equal(Buffer.from(signed, 'base64url').includes(secretValue), true);
  });

  test('two seals of the same session differ (fresh nonce); seals counts them', () => {
    const s = store('sealed');
    assert.equal(s.seals, 0);
    assert.notEqual(cookieOf(s)[0][1], cookieOf(s)[0][1]);
    assert.equal(s.seals, 2);
    assert.throws(() => s.write('sid', ID, { blob: 'x'.repeat(5000) }, now + HOUR, now));
    assert.equal(s.seals, 2, 'nothing sealed for a session that does not fit');
  });

  test('the hand-built envelopes of these tests open (control for the garbage cases)', () => {
    for (const mode of MODES) {
      const value = rawFor(mode)(payload(map1('k', str('v'))));
      assert.deepEqual(store(mode).read(`sid=${value}`, 'sid', now)?.data, { k: 'v' }, mode);
    }
  });
});

describe('tampering gives null', () => {
  for (const mode of MODES) {
    test(`${mode}: every character of the value changed`, () => {
      const s = store(mode);
      const value = cookieOf(s)[0][1];
      for (let i = 0; i < value.length; i++) {
        for (const ch of ['A', 'B', '-', '_'].filter((c) => c !== value[i]).slice(0, 2)) {
          const bad = value.slice(0, i) + ch + value.slice(i + 1);
          assert.equal(s.read(`sid=${bad}`, 'sid', now), null, `position ${i} -> ${ch}`);
        }
      }
    });

    test(`${mode}: every bit of every byte flipped`, () => {
      const s = store(mode);
      const bytes = Buffer.from(cookieOf(s)[0][1], 'base64url');
      for (let i = 0; i < bytes.length; i++) {
        for (let bit = 0; bit < 8; bit++) {
          const b = Buffer.from(bytes);
          b[i] ^= 1 << bit;
          assert.equal(s.read(`sid=${b.toString('base64url')}`, 'sid', now), null, `byte ${i} bit ${bit}`);
        }
      }
    });

    test(`${mode}: every truncation`, () => {
      const s = store(mode);
      const value = cookieOf(s)[0][1];
      for (let n = 0; n < value.length; n++) assert.equal(s.read(`sid=${value.slice(0, n)}`, 'sid', now), null, `length ${n}`);
      const bytes = Buffer.from(value, 'base64url');
      for (let n = 0; n < bytes.length; n++) assert.equal(s.read(`sid=${bytes.subarray(0, n).toString('base64url')}`, 'sid', now), null);
    });

    test(`${mode}: trailing characters and trailing bytes`, () => {
      const s = store(mode);
      const value = cookieOf(s)[0][1];
      for (const tail of ['A', 'AA', 'AAA', 'AAAA', '=', '==', '.', '.AAAA', '%00', ' x']) {
        assert.equal(s.read(`sid=${value}${tail}`, 'sid', now), null, JSON.stringify(tail));
      }
      const bytes = Buffer.from(value, 'base64url');
      for (const extra of [[0], [0, 0], [1, 2, 3, 4]]) {
        assert.equal(s.read(`sid=${Buffer.concat([bytes, Buffer.from(extra)]).toString('base64url')}`, 'sid', now), null);
      }
    });

    test(`${mode}: non-canonical and garbage base64url`, () => {
      const s = store(mode);
      const value = cookieOf(s)[0][1];
      const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
      // Another last character that Buffer decodes to the same bytes (unused low bits set).
      if (value.length % 4 !== 0) {
        const last = alphabet.indexOf(value.at(-1));
        const alt = value.slice(0, -1) + alphabet[last + 1];
        assert.deepEqual(Buffer.from(alt, 'base64url'), Buffer.from(value, 'base64url'), 'lenient decoders accept it');
        assert.equal(s.read(`sid=${alt}`, 'sid', now), null);
      }
      const std = Buffer.from(value, 'base64url').toString('base64'); // '+' '/' and padding
      if (std !== value) assert.equal(s.read(`sid=${std}`, 'sid', now), null);
      for (const v of ['', '""', '=', 'A', '!!!!', '\u00e9'.repeat(40), 'A'.repeat(5000), value.slice(0, 10) + '*' + value.slice(11), `"${value}x"`]) {
        assert.equal(s.read(`sid=${v}`, 'sid', now), null, v.slice(0, 20));
      }
      assert.equal(s.read('', 'sid', now), null);
      assert.equal(s.read('nothing here', 'sid', now), null);
    });

    test(`${mode}: copied under another cookie name`, () => {
      const s = store(mode);
      const value = cookieOf(s, { a: 1 }, 'sid')[0][1];
      assert.equal(s.read(`admin=${value}`, 'admin', now), null);
      assert.equal(s.read(`sid2=${value}`, 'sid2', now), null);
      assert.notEqual(s.read(`sid=${value}`, 'sid', now), null);
    });

    test(`${mode}: a cookie sealed with an unknown key`, () => {
      const value = cookieOf(new CookieStore({ keys: [randomBytes(32)], mode }))[0][1];
      assert.equal(store(mode).read(`sid=${value}`, 'sid', now), null);
    });

    test(`${mode}: expired, even when the browser kept it`, () => {
      const s = store(mode);
      const value = s.write('sid', ID, { a: 1 }, now + 1000, now)[0][1];
      assert.notEqual(s.read(`sid=${value}`, 'sid', now + 999), null);
      assert.equal(s.read(`sid=${value}`, 'sid', now + 1000), null);
      assert.equal(s.read(`sid=${value}`, 'sid', now + 10 * 365 * 24 * HOUR), null);
    });
  }

  test('a signed cookie presented to a sealed store, and the reverse (same secret)', () => {
    const sealed = store('sealed');
    const signed = store('signed');
    assert.equal(sealed.read(`sid=${cookieOf(signed)[0][1]}`, 'sid', now), null);
    assert.equal(signed.read(`sid=${cookieOf(sealed)[0][1]}`, 'sid', now), null);
    // Even a signed-layout cookie MACed with the sealed store's own AEAD key.
    const crossed = signRaw(aeadKey(SECRET), payload(map1('k', str('v'))));
    assert.equal(sealed.read(`sid=${crossed}`, 'sid', now), null);
    assert.equal(signed.read(`sid=${crossed}`, 'sid', now), null);
  });
});

describe('valid tag, garbage inside: null, never a throw', () => {
  const deep = (n) => Buffer.concat([...Array(n - 1).fill(Buffer.from([0x81, 0xa1, 0x61])), Buffer.from([0x80])]);
  const bodies = {
    'msgpack garbage (0xc1)': Buffer.from([0xc1]),
    'random bytes': randomBytes(64),
    'empty body': Buffer.alloc(0),
    'truncated map': Buffer.from([0x82, 0xa1, 0x61]),
    'trailing bytes after the map': Buffer.concat([map1('k', str('v')), Buffer.from([0x00])]),
    'two maps': Buffer.concat([map1('a', str('v')), map1('b', str('v'))]),
    'an array at the top': Buffer.from([0x91, 0x01]),
    'a string at the top': str('hello'),
    '__proto__ key': map1('__proto__', map1('polluted', Buffer.from([0xc3]))),
    'nested __proto__ key': map1('a', map1('__proto__', Buffer.from([0xc3]))),
    'constructor key': map1('constructor', map1('prototype', Buffer.from([0xc3]))),
    'prototype key': map1('prototype', Buffer.from([0x01])),
    'nesting 65 deep': deep(65),
    'nesting 3000 deep': deep(3000),
    'array claiming 2^32-1 items': Buffer.from([0x81, 0xa1, 0x61, 0xdd, 0xff, 0xff, 0xff, 0xff, 0x01]),
    'map claiming 65535 pairs': Buffer.from([0xde, 0xff, 0xff, 0xa1, 0x61, 0x01]),
    'string longer than the body': Buffer.from([0x81, 0xa1, 0x61, 0xdb, 0x00, 0x10, 0x00, 0x00, 0x61]),
    'unknown extension type 5': map1('a', Buffer.from([0xd4, 0x05, 0x00])),
    'msgpackr record definition (0x72)': map1('a', Buffer.from([0xd4, 0x72, 0x40, 0x91, 0xa1, 0x78, 0x01])),
    'structured-clone pointer (0x70)': map1('a', Buffer.from([0xd6, 0x70, 0, 0, 0, 1])),
    'bundled strings (0x62)': map1('a', Buffer.from([0xd6, 0x62, 0, 0, 0, 9, 0xc0])),
    'Set not followed by an array': map1('a', Buffer.from([0xd4, 0x73, 0x00, 0x01])),
    'a map key that is an array': Buffer.from([0x81, 0x91, 0x01, 0x01]),
  };
  for (const mode of MODES) {
    const raw = rawFor(mode);
    for (const [what, body] of Object.entries(bodies)) {
      test(`${mode}: ${what}`, () => {
        const before = Object.prototype.polluted;
        assert.equal(store(mode).read(`sid=${raw(payload(body))}`, 'sid', now), null);
        assert.equal(Object.prototype.polluted, before);
        assert.equal({}.polluted, undefined);
      });
    }
    test(`${mode}: bad payload layouts (id, createdAt)`, () => {
      const s = store(mode);
      const body = map1('k', str('v'));
      const bad = [
        Buffer.alloc(0),
        Buffer.from([0]), // id length 0
        Buffer.concat([Buffer.from([40]), Buffer.from('short')]), // id longer than the payload
        payload(body, { id: 'has space' }),
        payload(body, { id: 'ctl\x01char' }),
      ];
      const huge = payload(body);
      huge.writeBigUInt64BE(2n ** 60n, 1 + ID.length); // createdAt past 2^53
      bad.push(huge);
      for (const p of bad) assert.equal(s.read(`sid=${raw(p)}`, 'sid', now), null);
    });
    test(`${mode}: a sealed expiry past 2^53 or already past`, () => {
      const s = store(mode);
      const p = payload(map1('k', str('v')));
      assert.equal(s.read(`sid=${raw(p, { expiresAt: now - 1 })}`, 'sid', now), null);
      assert.equal(s.read(`sid=${raw(p, { expiresAt: 2 ** 60 })}`, 'sid', now), null);
    });
  }
});

describe('chunking', () => {
  const big = { blob: randomBytes(4000).toString('base64') };
  test('a session over one cookie spreads over name, name.1, … and reads back', () => {
    const s = store('sealed', { chunks: 4 });
    const pairs = s.write('sid', ID, big, now + HOUR, now);
    assert.deepEqual(pairs.map(([n]) => n), ['sid', 'sid.1']);
    for (const [n, v] of pairs) assert.ok(n.length + 1 + v.length + 160 <= 4096, `${n} is ${v.length}`);
    const r = s.read(header(pairs), 'sid', now);
    assert.deepEqual(r.data, big);
    assert.equal(r.parts, 2);
    assert.deepEqual(s.names('sid', 3), ['sid', 'sid.1', 'sid.2']);
    assert.deepEqual(s.names('sid', 0), ['sid']);
  });

  test('swapped, missing, foreign or miscounted parts give null', () => {
    const s = store('sealed', { chunks: 4 });
    const three = { blob: randomBytes(5000).toString('base64') };
    const p = s.write('sid', ID, three, now + HOUR, now);
    assert.equal(p.length, 3);
    const q = s.write('sid', ID, three, now + HOUR, now); // same data, another nonce
    const v = p.map(([, x]) => x);
    const swapped = [['sid', v[0]], ['sid.1', v[2]], ['sid.2', v[1]]];
    assert.equal(s.read(header(swapped), 'sid', now), null, 'swapped');
    assert.equal(s.read(header(p.slice(0, 2)), 'sid', now), null, 'missing');
    assert.equal(s.read(header([p[0], q[1], p[2]]), 'sid', now), null, 'a part of another cookie');
    assert.equal(s.read(header([['sid', '2' + v[0].slice(1)], p[1], p[2]]), 'sid', now), null, 'count lowered');
    assert.equal(s.read(header([['sid', '4' + v[0].slice(1)], ...p.slice(1), ['sid.3', 'AAAA']]), 'sid', now), null, 'count raised');
    assert.equal(s.read(header([p[0], p[1], ['sid.2', '']]), 'sid', now), null, 'empty part');
    assert.equal(s.read(header(p.map(([n, x]) => [n, x + 'A'])), 'sid', now), null, 'a tail on every part');
    // A stale part the browser kept beyond the count is never read.
    assert.deepEqual(s.read(header([...p, ['sid.3', 'stale']]), 'sid', now).data, three);
    // A chunked cookie in a store without chunking, and a joined token under the plain name.
    assert.equal(store('sealed').read(header(p), 'sid', now), null);
    // The joined token as one value is longer than any cookie this store writes: refused before any crypto.
    assert.equal(s.read(`sid=${v[0].slice(2)}${v[1]}${v[2]}`, 'sid', now), null, 'joined into one value');
  });

  test('more parts than the store allows: null', () => {
    const wide = store('sealed', { chunks: 8 });
    const pairs = wide.write('sid', ID, { blob: randomBytes(14000).toString('base64') }, now + HOUR, now);
    assert.ok(pairs.length > 4);
    assert.notEqual(wide.read(header(pairs), 'sid', now), null);
    assert.equal(store('sealed', { chunks: 4 }).read(header(pairs), 'sid', now), null);
  });
});

describe('size limit', () => {
  for (const mode of MODES) {
    test(`${mode}: a session that does not fit throws COOKIE_TOO_LARGE naming size and limit`, () => {
      const s = store(mode);
      assert.throws(() => s.write('sid', ID, { blob: 'x'.repeat(5000) }, now + HOUR, now), (err) => {
        assert.ok(err instanceof HotsessionError);
        assert.equal(err.code, 'HOTSESSION_ERR_COOKIE_TOO_LARGE');
        assert.equal(err.limit, 4096);
        assert.ok(err.size > 4096);
        assert.match(err.message, new RegExp(`${err.size}-byte`));
        assert.match(err.message, /4096-byte limit/);
        return true;
      });
    });
  }

  test('the limit counts name=value plus attributeBytes, exactly', () => {
    // Find the largest string value that fits with attributeBytes 0, then check the boundary.
    const s = store('sealed', { attributeBytes: 0, maxCookieSize: 1000 });
    const fitsWith = (n) => {
      try {
        s.write('sid', ID, { v: 'x'.repeat(n) }, now + HOUR, now);
        return true;
      } catch (err) {
        assert.equal(err.code, 'HOTSESSION_ERR_COOKIE_TOO_LARGE');
        return false;
      }
    };
    let n = 0;
    while (fitsWith(n + 1)) n++;
    const fits = s.write('sid', ID, { v: 'x'.repeat(n) }, now + HOUR, now);
    assert.ok(4 + fits[0][1].length <= 1000);
    assert.throws(() => s.write('sid', ID, { v: 'x'.repeat(n + 3) }, now + HOUR, now), { code: 'HOTSESSION_ERR_COOKIE_TOO_LARGE' });
    const reserved = store('sealed', { attributeBytes: 200, maxCookieSize: 1000 });
    assert.throws(() => reserved.write('sid', ID, { v: 'x'.repeat(n) }, now + HOUR, now), { code: 'HOTSESSION_ERR_COOKIE_TOO_LARGE' });
  });

  test('too large even when chunked', () => {
    assert.throws(() => store('sealed', { chunks: 2 }).write('sid', ID, { blob: 'x'.repeat(20_000) }, now + HOUR, now), /over the 4096-byte limit \(maxCookieSize\) even split over 2 cookies/);
  });

  test('surfaces at save() and commit through the manager; the session is not lost', async () => {
    const m = createSessionManager('sid', store('sealed'), { secret: 'manager secret' });
    const session = m.load(undefined);
    session.set('blob', 'x'.repeat(5000));
    await assert.rejects(session.save(), { code: 'HOTSESSION_ERR_COOKIE_TOO_LARGE' });
    await assert.rejects(Promise.resolve().then(() => m.commit(session)), { code: 'HOTSESSION_ERR_COOKIE_TOO_LARGE' });
    session.set('blob', 'small');
    const headers = await m.commit(session);
    assert.equal(headers.length, 1);
  });
});

describe('keys', () => {
  test('rotation: the new key seals, the old key still opens, a dropped key opens nothing', () => {
    const oldKey = randomBytes(32);
    const newKey = randomBytes(32);
    const before = new CookieStore({ keys: [oldKey] });
    const rotated = new CookieStore({ keys: [newKey, oldKey] });
    const after = new CookieStore({ keys: [newKey] });
    const old = cookieOf(before)[0][1];
    assert.deepEqual(rotated.read(`sid=${old}`, 'sid', now).data, { user: 'ada', n: 1 });
    const fresh = cookieOf(rotated)[0][1];
    assert.equal(Buffer.from(fresh, 'base64url').readUInt32BE(1), keyIdOf(newKey), 'sealed under the first key');
    assert.deepEqual(rotated.keyIds, [keyIdOf(newKey), keyIdOf(oldKey)]);
    assert.notEqual(after.read(`sid=${fresh}`, 'sid', now), null);
    assert.equal(after.read(`sid=${old}`, 'sid', now), null);
    assert.equal(before.read(`sid=${fresh}`, 'sid', now), null);
  });

  test('rotation of secrets in signed mode', () => {
    const a = 'first secret, long enough for the store!';
    const b = 'second secret, long enough for the store';
    const old = cookieOf(new CookieStore({ secret: a, mode: 'signed' }))[0][1];
    assert.notEqual(new CookieStore({ secrets: [b, a], mode: 'signed' }).read(`sid=${old}`, 'sid', now), null);
    assert.equal(new CookieStore({ secrets: [b], mode: 'signed' }).read(`sid=${old}`, 'sid', now), null);
  });

  test('a secret and a raw key: a raw key is used as the AES key itself', () => {
    const key = aeadKey(SECRET);
    const viaKey = cookieOf(new CookieStore({ keys: [key] }))[0][1];
    assert.notEqual(store('sealed').read(`sid=${viaKey}`, 'sid', now), null);
  });

  test('keyPairs: [auth, enc] seals with enc; [auth] derives from auth; signed ignores enc', () => {
    const auth = randomBytes(32);
    const enc = randomBytes(32);
    const withEnc = cookieOf(new CookieStore({ keyPairs: [auth, enc] }))[0][1];
    assert.notEqual(new CookieStore({ keys: [enc] }).read(`sid=${withEnc}`, 'sid', now), null);
    const noEnc = cookieOf(new CookieStore({ keyPairs: [auth, null] }))[0][1];
    assert.notEqual(new CookieStore({ secret: auth }).read(`sid=${noEnc}`, 'sid', now), null);
    const signed = cookieOf(new CookieStore({ keyPairs: [auth, enc], mode: 'signed' }))[0][1];
    assert.notEqual(new CookieStore({ secret: auth, mode: 'signed' }).read(`sid=${signed}`, 'sid', now), null);
    // Rotation with pairs: pair 0 seals, pair 1 still opens.
    const auth2 = randomBytes(32);
    const ring = new CookieStore({ keyPairs: [auth2, undefined, auth, enc] });
    assert.notEqual(ring.read(`sid=${withEnc}`, 'sid', now), null);
  });

  test('bad options are coded errors at construction', () => {
    const bad = [
      undefined,
      {},
      { secret: 'short' },
      { secret: SECRET, keys: [randomBytes(32)] },
      { keys: [randomBytes(16)] },
      { keys: [] },
      { secrets: [] },
      { secrets: [SECRET, 'short'] },
      { keyPairs: [randomBytes(32), randomBytes(16)] },
      { secret: SECRET, mode: 'encrypted' },
      { secret: SECRET, maxCookieSize: 100 },
      { secret: SECRET, chunks: 0 },
      { secret: SECRET, chunks: 100 },
      { secret: SECRET, attributeBytes: -1 },
      { keys: [randomBytes(32).fill(1), Buffer.alloc(32, 1)] },
    ];
    for (const o of bad) {
      assert.throws(() => new CookieStore(o), { code: 'HOTSESSION_ERR_OPTIONS' }, JSON.stringify(o));
    }
  });
});

describe('write-time refusals', () => {
  test('keys the decoder would refuse are an ENCODE error at write', () => {
    const s = store('sealed');
    for (const data of [JSON.parse('{"__proto__": {"x": 1}}'), { constructor: 1 }, { a: { prototype: 2 } }]) {
      assert.throws(() => s.write('sid', ID, data, now + HOUR, now), { code: 'HOTSESSION_ERR_ENCODE' });
    }
    let deep = {};
    const top = deep;
    for (let i = 0; i < 70; i++) deep = deep.a = {};
    assert.throws(() => s.write('sid', ID, top, now + HOUR, now), { code: 'HOTSESSION_ERR_ENCODE' });
  });

  test('no expiry, bad ids: errors, not cookies that never expire', () => {
    const s = store('sealed');
    assert.throws(() => s.write('sid', ID, {}, 0, now), RangeError);
    assert.throws(() => s.write('sid', '', {}, now + HOUR, now), TypeError);
    assert.throws(() => s.write('sid', 'x'.repeat(256), {}, now + HOUR, now), TypeError);
  });
});

describe('through the manager', () => {
  for (const mode of MODES) {
    test(`${mode}: an expired cookie replayed after maxAge opens nothing`, async () => {
      const m = createSessionManager('sid', store(mode), { secret: 'manager secret', cookie: { maxAge: 300 } });
      const s = m.load(undefined);
      s.set('user', 'ada');
      const [setCookie] = await m.commit(s);
      const cookie = setCookie.split(';')[0];
      assert.equal(m.load(cookie).get('user'), 'ada');
      await sleep(350);
      // A browser that ignored Max-Age (or an attacker who kept the value) sends it again.
      const replay = m.load(cookie);
      assert.equal(replay.isNew, true);
      assert.equal(replay.get('user'), undefined);
    });
  }

  test('destroy clears every part of a chunked session', async () => {
    const m = createSessionManager('sid', store('sealed', { chunks: 4 }), { secret: 'manager secret' });
    const s = m.load(undefined);
    s.set('blob', randomBytes(6000).toString('base64'));
    const set = await m.commit(s);
    assert.equal(set.length, 3);
    const cookie = set.map((c) => c.split(';')[0]).join('; ');
    const loaded = m.load(cookie);
    assert.equal(loaded.get('blob').length, 8000);
    // Shrinking clears the parts no longer used.
    loaded.set('blob', 'small');
    const shrunk = await m.commit(loaded);
    assert.deepEqual(shrunk.map((c) => c.split('=')[0]), ['sid', 'sid.1', 'sid.2']);
    assert.match(shrunk[1], /Max-Age=0/);
    assert.match(shrunk[2], /Max-Age=0/);
    const again = m.load(cookie);
    await again.destroy();
    const cleared = await m.commit(again);
    assert.deepEqual(cleared.map((c) => c.split('=')[0]), ['sid', 'sid.1', 'sid.2']);
    for (const c of cleared) assert.match(c, /Max-Age=0/);
  });
});

describe('fuzz', () => {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.%"= ;\u00e9';
  const pick = () => alphabet[(Math.random() * alphabet.length) | 0];
  for (const [label, s, data] of [
    ['sealed', store('sealed'), { u: 'ada' }],
    ['signed', store('signed'), { u: 'ada' }],
    ['sealed, chunked', store('sealed', { chunks: 3 }), { blob: randomBytes(4000).toString('base64') }],
  ]) {
    test(`${label}: mutated headers never throw and never open as something else`, () => {
      const pairs = s.write('sid', ID, data, now + HOUR, now);
      const good = header(pairs);
      for (let i = 0; i < 1500; i++) {
        const chars = [...good];
        const edits = 1 + (i % 3);
        for (let e = 0; e < edits; e++) {
          const at = (Math.random() * chars.length) | 0;
          const op = (Math.random() * 3) | 0;
          if (op === 0) chars[at] = pick();
          else if (op === 1) chars.splice(at, 0, pick());
          else chars.splice(at, 1);
        }
        const mutated = chars.join('');
        const r = s.read(mutated, 'sid', now);
        // A mutation can only be harmless (e.g. whitespace, or outside our cookies): then it opens the same session.
        if (r !== null) assert.deepEqual(r.data, data, mutated.slice(0, 80));
      }
    });
  }
});
