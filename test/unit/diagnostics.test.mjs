// Refusal reasons and the session channels on the synchronous stores (src/diagnostics.ts, src/core/trace.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import dc from 'node:diagnostics_channel';
import { createRequire } from 'node:module';
import { createSessionManager, MemoryStore } from 'hotsession';
import { CookieStore } from 'hotsession/cookie';

const require = createRequire(import.meta.url);
const signature = require('cookie-signature');
const secret = 'diagnostics unit test secret, long enough';
const opts = { secret, cookie: { secure: false } };

function collect(name, fn) {
  const got = [];
  const on = (m) => got.push(m);
  dc.subscribe(name, on);
  try { fn(); } finally { dc.unsubscribe(name, on); }
  return got;
}

const pair = (setCookie) => setCookie[0].split(';')[0];

test('refused: a signed cookie whose id is not ours is `id`', () => {
  const m = createSessionManager('sid', new MemoryStore(), opts);
  const value = encodeURIComponent('s:' + signature.sign('short', secret));
  const got = collect('hotsession:cookie:refused', () => assert.equal(m.load(`sid=${value}`).isNew, true));
  assert.deepEqual(got, [{ name: 'sid', reason: 'id' }]);
});

test('refused: a record written for another session name is `record`', () => {
  const store = new MemoryStore();
  const a = createSessionManager('a', store, opts);
  const b = createSessionManager('b', store, opts);
  const s = a.load(undefined);
  s.set('k', 1);
  const value = pair(a.commit(s)).slice(2);
  const got = collect('hotsession:cookie:refused', () => assert.equal(b.load(`b=${value}`).isNew, true));
  assert.deepEqual(got, [{ name: 'b', reason: 'record' }]);
});

test('refused: a cookie store session past absoluteTimeout (lowered since it was sealed) is `expired`', async () => {
  const store = new CookieStore({ secret: 'a cookie store secret of at least thirty-two bytes!' });
  const before = createSessionManager('sid', store, opts);
  const m = createSessionManager('sid', store, { ...opts, absoluteTimeout: 20 });
  const s = before.load(undefined);
  s.set('k', 1);
  const cookie = pair(before.commit(s));
  await new Promise((r) => setTimeout(r, 40));
  const got = collect('hotsession:cookie:refused', () => assert.equal(m.load(cookie).isNew, true));
  assert.deepEqual(got, [{ name: 'sid', reason: 'expired' }]);
});

test('load and commit on a synchronous store publish synchronously, in order', () => {
  const m = createSessionManager('sid', new MemoryStore(), opts);
  const events = [];
  const onLoad = (x) => events.push(['load', x.fresh]);
  const onCommit = (x) => events.push(['commit', x.change, x.cookies, x.error]);
  dc.subscribe('hotsession:session:load', onLoad);
  dc.subscribe('hotsession:session:commit', onCommit);
  try {
    const s = m.load(undefined);
    s.set('k', 1);
    const cookie = pair(m.commit(s));
    m.commit(s); // already committed: nothing to report
    const again = m.load(cookie);
    m.commit(again);
    again.destroy();
  } finally {
    dc.unsubscribe('hotsession:session:load', onLoad);
    dc.unsubscribe('hotsession:session:commit', onCommit);
  }
  assert.deepEqual(events, [['load', true], ['commit', 'modified', 1, undefined], ['load', false], ['commit', 'none', 0, undefined]]);
});
