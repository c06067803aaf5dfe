// The JS codec's HMAC (src/codec/hmac.ts: precomputed key blocks over
// crypto.hash) against createHmac: long and short keys, string and Buffer
// keys, ASCII, non-ASCII, lone surrogates and values past the scratch block.
import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { test } from 'node:test';

const require = createRequire(import.meta.url);
const { HmacKey } = require('../../dist/codec/hmac.js');

const reference = (secret, value) => createHmac('sha256', secret).update(value).digest('base64').slice(0, 43);

const secrets = ['', 'k', 'keyboard cat', 'x'.repeat(64), 'y'.repeat(65), 'ünïcødé secret ✓', randomBytes(32), randomBytes(200)];
const values = ['', 'a', 'NqzBbBtWn8xh0pZm8Wg1Pu3yq2bN0xQ_', 'Łódź', '\ud800 lone', 'x\udfffy', '✓'.repeat(341), '✓'.repeat(342), 'z'.repeat(5000)];

test('HmacKey gives createHmac\'s signature for every key and value', () => {
  for (const secret of secrets) {
    const key = new HmacKey(secret);
    for (const value of values) assert.equal(key.base64(value), reference(secret, value), `${JSON.stringify(String(secret).slice(0, 20))} / ${JSON.stringify(value.slice(0, 20))}`);
  }
});

test('HmacKey agrees with createHmac on random values, keys used in turn', () => {
  const keys = secrets.map((s) => [s, new HmacKey(s)]);
  for (let i = 0; i < 2000; i++) {
    const [secret, key] = keys[i % keys.length];
    const value = randomBytes(i % 97).toString(i % 2 ? 'latin1' : 'base64url');
    assert.equal(key.base64(value), reference(secret, value));
  }
});
