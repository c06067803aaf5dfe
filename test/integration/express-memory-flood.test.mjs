// hotsession/express's MemoryStore under a flood of cookieless writers (issue
// #14 item 2): with `max` set, one-shot sessions must evict each other before
// they push out a user who keeps coming back. Evicting the oldest write (the
// store before the fix) logged a reading-only user out after `max` anonymous
// writes.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { promisify } from 'node:util';
import session from 'hotsession/express';
import { serve, closeServers } from '../helpers/serve.mjs';

const require = createRequire(import.meta.url);
const express = require('express');

after(closeServers);

test('an active user survives 2,000 cookieless writers with max: 200', async () => {
  const store = new session.MemoryStore({ max: 200 });
  after(() => store.close());
  const app = express();
  app.use(session({ store, secret: 'a flood secret', resave: false, saveUninitialized: false, cookie: { maxAge: 3_600_000 } }));
  app.get('/login', (req, res) => {
    req.session.user = 'ann';
    res.end('ok');
  });
  // The user only reads: a write would refresh the entry under either policy
  // and hide the difference.
  app.get('/me', (req, res) => res.end(req.session.user ?? 'nobody'));
  // What an anonymous visitor does to the store (a cart, a CSRF token): one
  // write under a cookie that never comes back.
  app.get('/visit', (req, res) => {
    req.session.seen = true;
    res.end('ok');
  });
  const get = await serve(app);

  const login = await get('/login');
  assert.ok(login.cookie, 'login sets the session cookie');
  assert.equal((await get('/me', { cookie: login.cookie })).body, 'ann');

  for (let round = 0; round < 20; round++) {
    // 100 at a time keeps the sockets in use bounded; the user comes back between rounds.
    const visits = await Promise.all(Array.from({ length: 100 }, () => get('/visit')));
    for (const v of visits) assert.equal(v.status, 200);
    assert.equal((await get('/me', { cookie: login.cookie })).body, 'ann', `logged out after ${(round + 1) * 100} anonymous writes`);
  }
  assert.equal(await promisify(store.length).call(store), 200, 'the bound still holds');
});
