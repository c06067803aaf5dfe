// Fixed vectors every codec must produce and accept. Runs against the JS
// codec always, and against the native addon when it loaded (in the run
// without HOTSESSION_NO_NATIVE), so both are held to the same bytes.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';

const require = createRequire(import.meta.url);
const { codec, isNativeEnabled, jsCodec, deriveKey, keyId } = require('../../dist/codec/index.js');
const { loadNativeCodec } = require('../../dist/codec/native.js');
const cookie = require('cookie');
const signature = require('cookie-signature');

const noNative = Boolean(process.env.HOTSESSION_NO_NATIVE);
const native = noNative ? null : loadNativeCodec();
const codecs = [['js', jsCodec]];
if (native) codecs.push(['native', native]);
const nativeSkip = native ? false : noNative ? 'HOTSESSION_NO_NATIVE is set' : 'native addon not loaded';

describe('codec selection', () => {
  it('isNativeEnabled() tells which codec is active', () => {
    assert.equal(isNativeEnabled(), codec.native);
    assert.equal(isNativeEnabled(), native !== null);
    assert.equal(codec.native, native !== null);
  });
});

// [value, secret (string, or hex Buffer after 'buf:'), cookie-signature output]
const SIGN = [
  ['abc', 'keyboard cat', 'abc.BpxCrWRpvZMh/wk/djl34N+m+VQEU7K/5WenLwJCgFU'],
  ['', 'k', '.i7mQxAp9YcuXWXqUISUCW+UKyL63RDbjc1uYiTp/ZiA'],
  ['Xk3pQ9vB2mN7sT1wE5rY8uI0oP4aS6dF', 'keyboard cat', 'Xk3pQ9vB2mN7sT1wE5rY8uI0oP4aS6dF.Kxal8E5fFAj7dIJ5TyIU0WtG4eCaOVGd7DcK4ExqC88'],
  ['héllo ☃ 😀', 'secret', 'héllo ☃ 😀.2221mI+64MVIN9oaQP9kEhKGxQvDnWOveLMUC/xTWRc'],
  // A secret longer than SHA-256's 64-byte block is hashed first (RFC 2104).
  ['a.b.c', 'x'.repeat(100), 'a.b.c.IQADEuvkfrkVfd6v8ZJrWuCx7QzNYGopj68QNceVvDs'],
  ['id', '', 'id.NM4LAxq/Xx9nq539rngVgv3sMn33g4xw/O+ppo5JuQk'],
  ['id', 'buf:000102ff', 'id.B5GnVGZM6Q9GlBaPxcAk4opSyxwMRs+7OqDMA6d3x1M'],
];
const secretOf = (s) => (s.startsWith('buf:') ? Buffer.from(s.slice(4), 'hex') : s);

for (const [label, c] of codecs) {
  describe(`${label} codec: signer vectors`, () => {
    it('sign() matches cookie-signature byte for byte', () => {
      for (const [value, secret, expected] of SIGN) {
        assert.equal(signature.sign(value, secretOf(secret)), expected, 'vector table itself');
        assert.equal(c.createSigner([secretOf(secret)]).sign(value), expected, JSON.stringify(value));
      }
    });

    it('unsign() returns the value for every secret in the ring, null otherwise', () => {
      const signer = c.createSigner(['new', 'old']);
      assert.equal(signer.unsign(signature.sign('sid1', 'new')), 'sid1');
      assert.equal(signer.unsign(signature.sign('sid1', 'old')), 'sid1', 'rotated secret still verifies');
      assert.equal(signer.unsign(signature.sign('sid1', 'other')), null);
      assert.equal(signer.sign('sid1'), signature.sign('sid1', 'new'), 'first secret signs');
    });

    it('unsign() rejects truncated, padded, extended and malformed signatures', () => {
      const signer = c.createSigner(['keyboard cat']);
      const good = 'abc.BpxCrWRpvZMh/wk/djl34N+m+VQEU7K/5WenLwJCgFU';
      assert.equal(signer.unsign(good), 'abc');
      for (const bad of [
        good.slice(0, -1), good + '=', good + 'A', 'abc', '', '.', 'abc.',
        'abd' + good.slice(3), good.replace('abc.', 'abc..'),
        // Regression: latin1 keeps the low byte of U+0142, so 'ł' once passed for 'B'.
        'abc.' + String.fromCharCode(0x142) + good.slice(5),
        'abc.' + good.slice(4).replace('/', '_'),
      ]) {
        assert.equal(signer.unsign(bad), null, JSON.stringify(bad));
      }
    });

    it('extract() finds, decodes and verifies like cookie.parse + cookie-signature', () => {
      const secret = 'keyboard cat';
      const signer = c.createSigner([secret]);
      const s = signature.sign('sid-1', secret);
      const enc = 's%3A' + encodeURIComponent(s);
      const cases = [
        [`sid=${enc}`, 'sid-1'],
        [`a=1; sid=${enc}; b=2`, 'sid-1'],
        [`a=1;sid=${enc};b=2`, 'sid-1'],
        [` \tsid \t= \t${enc} \t; b=2`, 'sid-1'],
        [`sid="${enc}"`, 'sid-1'],
        [`sid=s:${s}`, 'sid-1'],
        [`sid=${enc}; sid=s:${signature.sign('other', secret)}`, 'sid-1'],
        [`sid=junk; sid=${enc}`, null], // first occurrence wins, even when it is invalid
        [`xsid=${enc}`, null],
        [`noeq; sid=${enc}`, 'sid-1'],
        [`sid=${enc.replace('%3A', '%3a')}`, 'sid-1'],
        [`sid=${enc}%`, null], // bad escape: the raw value is kept, and it does not verify
        [`sid=${s}`, null], // no s: prefix
        ['', null],
        ['s', null],
        ['sid=', null],
        ['sid="', null],
        [`sid=${enc.replace('%2B', '+').replace('%2F', '/')}`, 'sid-1'],
      ];
      for (const [header, expected] of cases) {
        const raw = cookie.parse(header).sid;
        const ref = typeof raw === 'string' && raw.startsWith('s:') ? signature.unsign(raw.slice(2), secret) || null : null;
        assert.equal(ref, expected, `reference disagrees with the table for ${JSON.stringify(header)}`);
        assert.equal(signer.extract(header, 'sid'), expected, JSON.stringify(header));
      }
    });

    it('extract() returns percent-decoded non-ASCII ids exactly', () => {
      const secret = 'k';
      const signer = c.createSigner([secret]);
      const id = 'é☃😀';
      const header = `sid=${encodeURIComponent('s:' + signature.sign(id, secret))}`;
      assert.equal(signer.extract(header, 'sid'), id);
      assert.equal(signer.extract(`sid=s:${signature.sign(id, secret)}`, 'sid'), id);
      // A percent-escape that is not UTF-8 leaves the value raw (decodeURIComponent throws).
      assert.equal(signer.extract(`sid=s:${signature.sign('%C0%AF', secret)}`, 'sid'), '%C0%AF');
    });
  });

  describe(`${label} codec: record frame vectors`, () => {
    const body = Buffer.from([0x81, 0xa1, 0x61, 0x01]); // msgpack {a: 1}
    const FRAME = '68010000' + '0000000102030405' + '0000018bcfe56800' + '00000004' + '81a16101';

    it('frame() writes the documented layout', () => {
      assert.equal(c.frame(body, 0x0102030405, 1700000000000).toString('hex'), FRAME);
      assert.equal(c.frame(Buffer.alloc(0), 0, 0).toString('hex'), '6801000000000000000000000000000000000000' + '00000000');
      const max = c.frame(body, Number.MAX_SAFE_INTEGER, 0);
      assert.equal(max.subarray(4, 12).toString('hex'), '001fffffffffffff');
    });

    it('unframe() reads it back without copying the body', () => {
      const buf = Buffer.from(FRAME, 'hex');
      const f = c.unframe(buf);
      assert.equal(f.expiresAt, 0x0102030405);
      assert.equal(f.createdAt, 1700000000000);
      assert.deepEqual(Buffer.from(f.body), body);
      assert.equal(f.body.buffer, buf.buffer, 'body is a view');
      assert.equal(c.unframe(c.frame(body, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER)).expiresAt, Number.MAX_SAFE_INTEGER);
    });

    it('unframe() rejects malformed, truncated, trailing and future-format frames', () => {
      const good = Buffer.from(FRAME, 'hex');
      const edit = (i, v) => { const b = Buffer.from(good); b[i] = v; return b; };
      const bad = [
        Buffer.alloc(0), good.subarray(0, 23), good.subarray(0, good.length - 1),
        Buffer.concat([good, Buffer.from([0])]),
        edit(0, 0x69), edit(1, 2), edit(1, 0), edit(2, 1), edit(3, 1),
        edit(23, 5), edit(20, 1),
      ];
      const overMax = Buffer.from(good); overMax.writeBigUInt64BE(2n ** 53n, 4); bad.push(overMax);
      const overMaxC = Buffer.from(good); overMaxC.writeBigUInt64BE(2n ** 64n - 1n, 12); bad.push(overMaxC);
      for (const b of bad) assert.equal(c.unframe(b), null, b.toString('hex'));
    });

    it('frame() refuses times that are not integer ms in [0, 2^53)', () => {
      for (const t of [-1, 1.5, 2 ** 53, NaN, Infinity]) {
        assert.throws(() => c.frame(body, t, 0), RangeError);
        assert.throws(() => c.frame(body, 0, t), RangeError);
      }
    });
  });

  describe(`${label} codec: sealed envelope`, () => {
    const k1 = deriveKey('secret one');
    const k2 = deriveKey('secret two');
    const aad = Buffer.from('session');
    const pt = Buffer.from('{"user":42,"cart":[1,2,3]}');

    it('derives keys and ids the documented way', () => {
      assert.equal(k1.length, 32);
      const sealer = c.createSealer([k1, k2]);
      assert.deepEqual(sealer.keyIds, [keyId(k1), keyId(k2)]);
    });

    it('seal() writes version, key id and expiry in the clear, with a fresh nonce each time', () => {
      const sealer = c.createSealer([k1]);
      const a = sealer.seal(pt, 1700000000000, aad);
      const b = sealer.seal(pt, 1700000000000, aad);
      assert.equal(a.length, pt.length + 41);
      assert.equal(a[0], 1);
      assert.equal(a.readUInt32BE(1), keyId(k1));
      assert.equal(Number(a.readBigUInt64BE(5)), 1700000000000);
      assert.notDeepEqual(a.subarray(13, 25), b.subarray(13, 25));
      assert.deepEqual(sealer.open(a, aad), { plaintext: pt, expiresAt: 1700000000000 });
    });

    it('opens what the other codec sealed (both directions), with rotation', () => {
      for (const [otherLabel, other] of codecs) {
        const env = other.createSealer([k2]).seal(pt, 5, aad);
        const opened = c.createSealer([k1, k2]).open(env, aad);
        assert.deepEqual(opened, { plaintext: pt, expiresAt: 5 }, `sealed by ${otherLabel}`);
        const empty = other.createSealer([k1]).seal(Buffer.alloc(0), 0);
        assert.deepEqual(c.createSealer([k1]).open(empty), { plaintext: Buffer.alloc(0), expiresAt: 0 });
        assert.deepEqual(c.createSealer([k1]).open(empty, Buffer.alloc(0)), { plaintext: Buffer.alloc(0), expiresAt: 0 });
      }
    });

    it('open() returns null for every single-byte tamper, wrong aad, unknown key and truncation', () => {
      const sealer = c.createSealer([k1]);
      const env = sealer.seal(pt, 1234, aad);
      for (let i = 0; i < env.length; i++) {
        for (const flip of [0x01, 0x80]) {
          const t = Buffer.from(env);
          t[i] ^= flip;
          assert.equal(sealer.open(t, aad), null, `byte ${i} ^ ${flip}`);
        }
      }
      assert.equal(sealer.open(env), null, 'aad missing');
      assert.equal(sealer.open(env, Buffer.from('sessioN')), null, 'aad changed');
      assert.equal(c.createSealer([k2]).open(env, aad), null, 'unknown key id');
      for (let n = 0; n < env.length; n++) assert.equal(sealer.open(env.subarray(0, n), aad), null, `truncated to ${n}`);
      assert.equal(sealer.open(Buffer.concat([env, Buffer.from([0])]), aad), null, 'trailing byte');
    });

    it('rejects bad keys and arguments with exceptions, not crashes', () => {
      assert.throws(() => c.createSealer([]), TypeError);
      assert.throws(() => c.createSealer([Buffer.alloc(31)]), TypeError);
      assert.throws(() => c.createSealer([k1, Buffer.from(k1)]), TypeError);
      const sealer = c.createSealer([k1]);
      assert.throws(() => sealer.seal(pt, -1), RangeError);
      assert.throws(() => sealer.seal(pt, 2 ** 53), RangeError);
    });
  });
}

describe('native wrapper argument checks', { skip: nativeSkip }, () => {
  it('throws TypeError instead of handing C++ a wrong type', () => {
    const signer = native.createSigner(['k']);
    assert.throws(() => signer.sign(1), TypeError);
    assert.throws(() => signer.unsign(undefined), TypeError);
    assert.throws(() => signer.extract(undefined, 'sid'), TypeError);
    assert.throws(() => signer.extract('sid=1', null), TypeError);
    assert.throws(() => native.createSigner([]), TypeError);
    assert.throws(() => native.createSigner([42]), TypeError);
    assert.throws(() => native.frame('body', 0, 0), TypeError);
    const sealer = native.createSealer([deriveKey('x')]);
    assert.throws(() => sealer.seal('pt', 0), TypeError);
    assert.throws(() => sealer.open([1, 2, 3]), TypeError);
    assert.throws(() => sealer.open(Buffer.alloc(64), 'aad'), TypeError);
  });
});

describe('signCookie: the Set-Cookie value express-session writes', () => {
  for (const [label, c] of codecs) {
    it(`${label}: equals encodeURIComponent('s:' + cookie-signature sign) for URL-safe ids`, () => {
      // Fixed: a signature with both '+' and '/' (escaped) and one id of each length class.
      assert.equal(c.createSigner(['keyboard cat']).signCookie('abc'), 's%3Aabc.BpxCrWRpvZMh%2Fwk%2Fdjl34N%2Bm%2BVQEU7K%2F5WenLwJCgFU');
      const signer = c.createSigner(['k1', 'k2']);
      const crypto = require('node:crypto');
      for (let i = 0; i < 2000; i++) {
        const id = crypto.randomBytes(1 + (i % 40)).toString('base64url');
        assert.equal(signer.signCookie(id), encodeURIComponent('s:' + signature.sign(id, 'k1')), id);
      }
    });
  }
});
