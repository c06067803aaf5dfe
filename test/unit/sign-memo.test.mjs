// Guards the memo of signed cookie values (src/codec/sign-memo.ts): a cookie
// sent again on a write is the signing secret's value, never the one the
// client presented (an older secret of the ring), and stays right past the
// memo's bound.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { createSessionManager, MemoryStore } from 'hotsession';

const require = createRequire(import.meta.url);
const signature = require('cookie-signature');

const OLD = 'the secret before the rotation';
const NEW = 'the secret after the rotation';
const opts = (secret) => ({ secret, cookie: { maxAge: 60_000 } });
const valueOf = (setCookie) => decodeURIComponent(setCookie.slice(setCookie.indexOf('=') + 1, setCookie.indexOf(';')));

test('a session verified with an old secret is sent back signed with the first secret', () => {
  const store = new MemoryStore();
  const before = createSessionManager('sid', store, opts(OLD));
  const s = before.load('');
  s.set('n', 1);
  const [first] = before.commit(s);
  const id = valueOf(first).slice(2, valueOf(first).lastIndexOf('.'));
  assert.equal(valueOf(first), 's:' + signature.sign(id, OLD));

  const after = createSessionManager('sid', store, { secret: [NEW, OLD], cookie: { maxAge: 60_000 } });
  const header = first.slice(0, first.indexOf(';'));
  for (let round = 0; round < 2; round++) {
    const t = after.load(header);
    assert.equal(t.get('n'), 1 + round);
    t.set('n', 2 + round);
    const [again] = after.commit(t);
    assert.equal(valueOf(again), 's:' + signature.sign(id, NEW), `round ${round}: re-signed with the first secret`);
  }
  store.close();
});

test('cookies stay right for more sessions than the memo holds', () => {
  const store = new MemoryStore();
  const m = createSessionManager('sid', store, opts(NEW));
  const jar = [];
  for (let i = 0; i < 5000; i++) {
    const s = m.load('');
    s.set('i', i);
    jar.push(m.commit(s)[0]);
  }
  for (let i = 0; i < jar.length; i += 7) {
    const header = jar[i].slice(0, jar[i].indexOf(';'));
    const s = m.load(header);
    assert.equal(s.get('i'), i);
    s.set('i', i + 1);
    const [again] = m.commit(s);
    assert.equal(again.slice(0, again.indexOf(';')), header, `session ${i}: same signed value`);
  }
  store.close();
});
