// The header transport's reading and answering rules (src/core/transport.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { MemoryStore } from 'hotsession';

const require = createRequire(import.meta.url);
const { HeaderTransport } = require('../../dist/core/transport.js');

const store = new MemoryStore();
const x = HeaderTransport.of({ header: 'X-Session-Id' }, ['sid'], [store]);
const bearer = HeaderTransport.of({ header: 'authorization' }, ['sid'], [store]);
const only = HeaderTransport.of({ header: 'x-session-id', headerOnly: true }, ['sid'], [store]);

test('no header option: no transport', () => {
  assert.equal(HeaderTransport.of({}, ['sid'], [store]), null);
  assert.equal(HeaderTransport.of(undefined, ['sid'], [store]), null);
});

test('reading: absent is a cookie client unless headerOnly; bad tokens are carried as none', () => {
  assert.equal(x.header, 'x-session-id');
  assert.equal(x.read(undefined), null);
  assert.equal(x.read(''), null);
  assert.deepEqual(only.read(undefined), { token: undefined });
  assert.deepEqual(x.read('  s%3Aabc.def '), { token: 's%3Aabc.def' });
  for (const bad of ['a;b', 'a,b', 'a b', '\u00e9']) assert.deepEqual(x.read(bad), { token: undefined }, bad);
  assert.deepEqual(x.read('x'.repeat(5000)), { token: undefined });
  assert.equal(x.cookieHeader({ token: 's%3Aabc.def' }), 'sid=s%3Aabc.def');
  assert.equal(x.cookieHeader({ token: undefined }), undefined);
});

test('Bearer: the scheme is case-insensitive; another scheme is not ours', () => {
  assert.deepEqual(bearer.read('Bearer tok.en'), { token: 'tok.en' });
  assert.deepEqual(bearer.read('bEaReR   tok.en'), { token: 'tok.en' });
  assert.equal(bearer.read('Basic dXNlcjpwYXNz'), null);
  assert.equal(bearer.read('Bearer'), null);
});

test('answering: a changed token, an unchanged one, a cleared one, other cookies kept', () => {
  const rest = [];
  assert.equal(x.respond({ token: undefined }, ['sid=s%3Anew.sig; Path=/; HttpOnly', 'other=1; Path=/'], rest), 's%3Anew.sig');
  assert.deepEqual(rest, ['other=1; Path=/']);
  assert.equal(x.respond({ token: 's%3Anew.sig' }, ['sid=s%3Anew.sig; Path=/'], []), undefined);
  assert.equal(x.respond({ token: 's:new.sig' }, ['sid=s%3Anew.sig; Path=/'], []), undefined, 'the unescaped form is the same token');
  assert.equal(x.respond({ token: 's%3Aold.sig' }, ['sid=; Path=/; Max-Age=0'], []), '');
  assert.equal(x.respond({ token: undefined }, ['sid=; Path=/; Max-Age=0'], []), undefined, 'nothing to clear');
  assert.equal(bearer.respond({ token: undefined }, ['sid=s%3Anew.sig; Path=/'], []), 'Bearer s%3Anew.sig');
  assert.equal(bearer.respond({ token: 'a' }, ['sid=; Path=/'], []), '');
});
