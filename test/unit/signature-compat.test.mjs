import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { createSessionManager, MemoryStore } from 'hotsession';

const require = createRequire(import.meta.url);
const signature = require('cookie-signature');
const cookie = require('cookie');

// A fixed vector: cookie-signature 1.0.7 (what express-session 1.19 uses)
// signing this id with this secret gives this value, and express-session
// writes it as `connect.sid=s%3A<id>.<sig, percent-encoded>`.
const S = 'keyboard cat';
const S2 = 'a newer secret';
const ID = 'NqzBbBtWn8xh0pZm8Wg1Pu3yq2bN0xQ_';
const SIGNED = signature.sign(ID, S);

test('the vector is what cookie-signature produces', () => {
  assert.equal(SIGNED, `${ID}.${require('node:crypto').createHmac('sha256', S).update(ID).digest('base64').replace(/=+$/, '')}`);
});

test('a cookie signed by express-session with S is accepted with secrets [S2, S]', async () => {
  const store = new MemoryStore();
  // Pretend express-session's app stored the session: write the record under ID.
  const writer = createSessionManager('connect.sid', store, { secret: S, genid: () => ID });
  const s = writer.load();
  s.set('user', 'ada');
  writer.commit(s);
  const header = cookie.serialize('connect.sid', 's:' + SIGNED);
  assert.equal(header, `connect.sid=${encodeURIComponent('s:' + SIGNED)}`);
  const reader = createSessionManager('connect.sid', store, { secret: [S2, S], cookie: { maxAge: 60_000 } });
  const loaded = await reader.load(header);
  assert.equal(loaded.id, ID);
  assert.equal(loaded.get('user'), 'ada');
  // ... and cookies it sends (maxAge moves the expiry, so every save re-sends)
  // are signed with the first secret, byte-identical to express-session's.
  loaded.set('x', 1);
  const [setCookie] = reader.commit(loaded);
  const value = setCookie.slice('connect.sid='.length, setCookie.indexOf(';'));
  assert.equal(value, encodeURIComponent('s:' + signature.sign(ID, S2)));
  await store.close();
});

test('a cookie signed with a secret not in the list is refused', async () => {
  const store = new MemoryStore();
  const reader = createSessionManager('connect.sid', store, { secret: [S2] });
  const s = await reader.load(cookie.serialize('connect.sid', 's:' + SIGNED));
  assert.notEqual(s.id, ID);
  assert.equal(s.isNew, true);
});
