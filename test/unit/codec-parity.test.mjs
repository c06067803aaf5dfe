// Randomized cross-checks: the native addon and the JS codec against each
// other, and both against the reference the contract names (`cookie` 0.7's
// parse + cookie-signature). Seeded; a failure prints the seed and the input.
//   HOTSESSION_PARITY_SEED=123 HOTSESSION_PARITY_ROUNDS=20000 node --test test/unit/codec-parity.test.mjs
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const { jsCodec, deriveKey } = require('../../dist/codec/index.js');
const { loadNativeCodec } = require('../../dist/codec/native.js');
const cookie = require('cookie');
const signature = require('cookie-signature');

const noNative = Boolean(process.env.HOTSESSION_NO_NATIVE);
const native = noNative ? null : loadNativeCodec();
const nativeSkip = native ? false : noNative ? 'HOTSESSION_NO_NATIVE is set' : 'native addon not loaded';
// The codec keeps the JS unframe (it is faster); the addon's parser is still
// held to the same answers here, straight from the addon.
const addon = native ? require('node-gyp-build')(fileURLToPath(new URL('../..', import.meta.url))) : null;
const times = new Float64Array(2);
function addonUnframe(buf) {
  if (!addon.unframe(buf, times)) return null;
  return { body: buf.subarray(24), expiresAt: times[0], createdAt: times[1] };
}
const SEED = Number(process.env.HOTSESSION_PARITY_SEED ?? (Date.now() % 2 ** 31));
const ROUNDS = Number(process.env.HOTSESSION_PARITY_ROUNDS ?? 4000);

// mulberry32: small, seedable, good enough to pick test inputs.
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rand = rng(SEED);
const int = (n) => Math.floor(rand() * n);
const pick = (xs) => xs[int(xs.length)];
const chance = (p) => rand() < p;

const SECRETS = ['keyboard cat', 'old secret', Buffer.from([0, 1, 2, 255])];
const NAME = 'connect.sid';

function reference(header, name) {
  const raw = cookie.parse(header)[name];
  if (typeof raw !== 'string' || !raw.startsWith('s:')) return null;
  for (const s of SECRETS) {
    const v = signature.unsign(raw.slice(2), s);
    if (v !== false) return v;
  }
  return null;
}

const ID_CHARS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.+/%= ;"\t';
const ODD = ['é', '☃', '😀', '\ud800', '\udc00', '\u0000', '\u00ff', '\u0141', '\u203d'];

function randomId() {
  let s = '';
  const n = int(40);
  for (let i = 0; i < n; i++) s += chance(0.05) ? pick(ODD) : ID_CHARS[int(ID_CHARS.length)];
  return s;
}

// encodeURIComponent throws on lone surrogates; such ids then travel raw.
function enc(v) {
  try {
    return encodeURIComponent(v);
  } catch {
    return v;
  }
}

// How a signed value may reach us: raw, percent-encoded in whole or part,
// quoted, padded with blanks, or with broken escapes.
function encodeValue(v) {
  switch (int(7)) {
    case 0: return v;
    case 1: return enc(v);
    case 2: return 's%3A' + enc(v.slice(2));
    case 3: return v.replace(/[+/]/g, (c) => (chance(0.5) ? enc(c) : c));
    case 4: return `"${enc(v)}"`;
    case 5: return enc(v) + pick(['%', '%4', '%ZZ', '%C3', '%C3%28', '%E2%82', '%F0%9F%98', '%ED%A0%80', '%C0%AF', '%F4%90%80%80']);
    default: return pick([' ', '\t', '  ']) + v + pick([' ', '\t', '']);
  }
}

function signedCookie() {
  const id = chance(0.8) ? randomId() : pick(['', 'a', 'x'.repeat(64)]);
  const secret = chance(0.85) ? pick(SECRETS) : 'wrong secret';
  let v = 's:' + signature.sign(id, secret);
  if (chance(0.1)) v = v.slice(2);
  if (chance(0.1)) v = v.slice(0, -int(3) - 1);
  return encodeValue(v);
}

const NOISE = ' \t;="%s:.aZ09é\ud83d';
function noise(n) {
  let s = '';
  for (let i = 0; i < n; i++) s += NOISE[int(NOISE.length)];
  return s;
}

function randomHeader() {
  const parts = [];
  const n = int(8);
  for (let i = 0; i < n; i++) {
    const name = chance(0.35) ? NAME : pick(['a', 'b', '_ga', 'connect.sid2', 'xconnect.sid', ' connect.sid', 'connect.sid ', '', noise(3)]);
    const value = name.trim() === NAME || chance(0.3) ? signedCookie() : noise(int(12));
    parts.push(chance(0.05) ? value : `${name}${pick(['=', ' = ', '\t=', '=='])}${value}`);
  }
  return parts.join(pick(['; ', ';', ' ; ', ';;', ';\t']));
}

function mutate(s) {
  const chars = [...s];
  const n = 1 + int(4);
  for (let i = 0; i < n; i++) {
    const at = int(chars.length + 1);
    switch (int(3)) {
      case 0: chars.splice(at, 1); break;
      case 1: chars.splice(at, 0, NOISE[int(NOISE.length)]); break;
      default: if (at < chars.length) chars[at] = NOISE[int(NOISE.length)];
    }
  }
  return chars.join('');
}

function checkHeader(signers, header, name = NAME) {
  const expected = reference(header, name);
  for (const [label, signer] of signers) {
    const got = signer.extract(header, name);
    if (got !== expected) {
      assert.fail(`${label} extract disagrees with cookie+cookie-signature (seed ${SEED})\n` +
        `header: ${JSON.stringify(header)}\nexpected: ${JSON.stringify(expected)}\ngot: ${JSON.stringify(got)}`);
    }
  }
}

function signersFor() {
  const out = [['js', jsCodec.createSigner(SECRETS)]];
  if (native) out.push(['native', native.createSigner(SECRETS)]);
  return out;
}

describe(`cookie extraction parity (seed ${SEED}, ${ROUNDS} rounds)`, () => {
  const signers = signersFor();

  it('random headers', () => {
    let found = 0;
    for (let i = 0; i < ROUNDS; i++) {
      const h = randomHeader();
      checkHeader(signers, h);
      if (reference(h, NAME) !== null) found++;
    }
    // Guards the generator itself: a parity run that never hits a valid cookie proves little.
    assert.ok(found > ROUNDS / 20, `only ${found} headers held a valid session cookie`);
  });

  it('mutated headers', () => {
    for (let i = 0; i < ROUNDS; i++) checkHeader(signers, mutate(randomHeader()));
  });

  it('other names, including empty and odd ones', () => {
    for (let i = 0; i < ROUNDS / 4; i++) {
      const h = randomHeader();
      for (const name of ['a', '', ' connect.sid', 'é', 'x'.repeat(300)]) checkHeader(signers, h, name);
    }
  });

  it('percent-decoding throws exactly where decodeURIComponent does', () => {
    // A signed id made of escapes: when decoding fails the raw value verifies
    // and the id comes back; when it succeeds the decoded value does not verify.
    const BYTES = ['00', '2e', '3B', '7f', '80', 'bf', 'c0', 'c1', 'c2', 'df', 'e0', 'a0', 'ed', '9f', 'ef', 'f0', '90', 'f4', '8f', 'f5', 'ff', 'zz', '4'];
    let threw = 0;
    for (let i = 0; i < ROUNDS; i++) {
      let id = '';
      const n = 1 + int(6);
      for (let k = 0; k < n; k++) id += (chance(0.9) ? '%' : '') + pick(BYTES) + (chance(0.1) ? 'x' : '');
      const header = `${NAME}=s:${signature.sign(id, SECRETS[0])}`;
      checkHeader(signers, header);
      if (reference(header, NAME) === id) threw++;
    }
    assert.ok(threw > 0 && threw < ROUNDS, `decode failed on ${threw} of ${ROUNDS}`);
  });

  it('empty, tiny and huge (100 KB) headers', () => {
    for (const h of ['', ';', '=', 's', 'connect.sid', 'connect.sid=', 'connect.sid="', 'connect.sid=""', '; ;=;']) {
      checkHeader(signers, h);
    }
    const good = 's%3A' + encodeURIComponent(signature.sign('big-session', SECRETS[0]));
    const filler = Array.from({ length: 3000 }, (_, i) => `c${i}=${'v'.repeat(30)}`).join('; ');
    assert.ok(filler.length > 100_000);
    for (const h of [
      `${filler}; ${NAME}=${good}`,
      `${NAME}=${good}; ${filler}`,
      `${filler}; ${NAME}=junk; ${NAME}=${good}`,
      `${filler.replace(/=/g, '')}; ${NAME}=${good}`,
      `${NAME}=${good}${'%41'.repeat(40_000)}`,
      `${NAME}=${'"'.repeat(100_000)}`,
      ';'.repeat(100_000) + `${NAME}=${good}`,
      '='.repeat(100_000),
      `${filler}é; ${NAME}=${good}`,
    ]) {
      checkHeader(signers, h);
    }
    assert.equal(signers[0][1].extract(`${filler}; ${NAME}=${good}`, NAME), 'big-session');
  });
});

describe(`sign/unsign parity (seed ${SEED})`, () => {
  const signers = signersFor();

  it('sign() equals cookie-signature, unsign() equals its unsign on random and mutated input', () => {
    for (let i = 0; i < ROUNDS; i++) {
      const id = randomId();
      const expected = signature.sign(id, SECRETS[0]);
      for (const [label, s] of signers) {
        assert.equal(s.sign(id), expected, `${label} sign(${JSON.stringify(id)})`);
      }
      const candidate = chance(0.5) ? expected : mutate(expected);
      let ref = null;
      for (const secret of SECRETS) {
        const v = signature.unsign(candidate, secret);
        if (v !== false) { ref = v; break; }
      }
      for (const [label, s] of signers) {
        assert.equal(s.unsign(candidate), ref, `${label} unsign(${JSON.stringify(candidate)}) seed ${SEED}`);
      }
    }
  });
});

describe(`frame and envelope parity (seed ${SEED})`, { skip: nativeSkip }, () => {
  const bytes = (n) => {
    const b = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) b[i] = int(256);
    return b;
  };
  const same = (a, b, what) => {
    if (a === null || b === null) return assert.equal(a, b, what);
    assert.deepEqual(Buffer.from(a.body ?? a.plaintext), Buffer.from(b.body ?? b.plaintext), what);
    assert.equal(a.expiresAt, b.expiresAt, what);
    assert.equal(a.createdAt, b.createdAt, what);
  };

  it('frame() gives the same bytes; unframe() agrees on random, mutated and garbage input', () => {
    for (let i = 0; i < ROUNDS; i++) {
      const body = bytes(int(64));
      const e = chance(0.2) ? 0 : int(2 ** 31) * 2 ** 21 + int(2 ** 21);
      const c = int(2 ** 31) * 1000;
      const f = native.frame(body, e, c);
      assert.deepEqual(f, jsCodec.frame(body, e, c));
      let input;
      switch (int(4)) {
        case 0: input = f; break;
        case 1: { input = Buffer.from(f); input[int(input.length)] ^= 1 << int(8); break; }
        case 2: input = f.subarray(0, int(f.length + 1)); break;
        default: input = bytes(int(48));
      }
      same(addonUnframe(input), jsCodec.unframe(input), `unframe ${input.toString('hex')}`);
    }
  });

  it('open() agrees on mutated envelopes and never accepts a changed one', () => {
    const keys = [deriveKey('a'), deriveKey('b')];
    const n = native.createSealer(keys);
    const j = jsCodec.createSealer(keys);
    for (let i = 0; i < ROUNDS / 4; i++) {
      const pt = bytes(int(300));
      const aad = chance(0.5) ? undefined : bytes(int(16));
      const env = (chance(0.5) ? n : j).seal(pt, int(2 ** 31), aad);
      let input = env;
      const r = int(4);
      if (r === 1) { input = Buffer.from(env); input[int(input.length)] ^= 1 + int(255); }
      if (r === 2) input = env.subarray(0, int(env.length));
      if (r === 3) input = bytes(int(80));
      const a = n.open(input, aad);
      same(a, j.open(input, aad), `open ${input.toString('hex')}`);
      if (r === 0) assert.deepEqual(a.plaintext, pt);
      else assert.equal(a, null);
    }
  });
});
