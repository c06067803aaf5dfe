// The session middlewares put req and res in dictionary mode when a framework
// swapped their prototypes (Express does, per request; see src/adapters/shape.ts)
// and leave plain node:http objects alone. What is checked here is that
// switch and that it changes nothing an app can see: same properties, same
// order, same values, same prototypes. (How much it saves is bench/express-layer.mjs's job.)
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { createRequire } from 'node:module';
import v8 from 'node:v8';
import session from 'hotsession/express';
import { sessions } from 'hotsession/http';
import { MemoryStore } from 'hotsession';
import { closeServers, serve } from '../helpers/serve.mjs';

const require = createRequire(import.meta.url);
const express5 = require('express');
const express4 = require('express4');

v8.setFlagsFromString('--allow-natives-syntax');
const hasFastProperties = new Function('o', 'return %HasFastProperties(o)');

after(closeServers);

/** What a handler sees of req and res, minus values that differ per request. */
function observe(req, res) {
  return {
    fastReq: hasFastProperties(req),
    fastRes: hasFastProperties(res),
    reqKeys: Object.keys(req).filter((k) => k !== 'sessionID' && k !== 'session'),
    resKeys: Object.keys(res),
    reqProto: Object.getPrototypeOf(req) === http.IncomingMessage.prototype,
    url: req.url,
    method: req.method,
  };
}

const middlewares = {
  'hotsession/express': () => session({ secret: 'shape secret', resave: false, saveUninitialized: false }),
  'hotsession/http': () => sessions('sid', new MemoryStore(), { secret: 'shape secret long enough for hotsession' }),
};

for (const [name, make] of Object.entries(middlewares)) {
  for (const [label, express] of [['Express 5', express5], ['Express 4', express4]]) {
    test(`${name} under ${label}: req and res switch to dictionary mode, nothing visible changes`, async () => {
      let seen;
      const app = express();
      app.use(make());
      app.get('/x', (req, res) => {
        seen = observe(req, res);
        res.json({ ok: true });
      });
      const get = await serve(app);
      const r = await get('/x?a=1');
      assert.equal(r.status, 200);
      assert.equal(r.body, '{"ok":true}');
      assert.equal(seen.fastReq, false);
      assert.equal(seen.fastRes, false);
      assert.equal(seen.reqProto, false, 'Express swapped the prototype');
      assert.equal(seen.url, '/x?a=1');
      assert.equal(seen.method, 'GET');
      // The same own properties, in the same order, as with a middleware that does nothing.
      let bare;
      const plainApp = express();
      plainApp.use((req, res, next) => next());
      plainApp.get('/x', (req, res) => {
        bare = observe(req, res);
        res.json({ ok: true });
      });
      await (await serve(plainApp))('/x?a=1');
      const ours = new Set(['sessionStore', 'sessionID', 'session']);
      assert.deepEqual(seen.reqKeys.filter((k) => !ours.has(k)), bare.reqKeys);
      assert.deepEqual(seen.resKeys.filter((k) => k !== 'writeHead' && k !== 'end'), bare.resKeys);
    });
  }

  test(`${name} on plain node:http: req and res keep their fast properties`, async () => {
    const mw = make();
    let seen;
    const get = await serve((req, res) => mw(req, res, () => {
      seen = observe(req, res);
      res.end('ok');
    }));
    const r = await get('/y');
    assert.equal(r.body, 'ok');
    assert.equal(seen.reqProto, true);
    assert.equal(seen.fastReq, true);
    assert.equal(seen.fastRes, true);
  });
}

test('hotsession/express under Express: sessions still load, change and save', async () => {
  const app = express5();
  app.use(session({ secret: 'shape secret', resave: false, saveUninitialized: false }));
  app.get('/n', (req, res) => {
    req.session.n = (req.session.n ?? 0) + 1;
    res.send(String(req.session.n));
  });
  const get = await serve(app);
  const first = await get('/n');
  assert.equal(first.body, '1');
  assert.equal((await get('/n', { cookie: first.cookie })).body, '2');
  assert.equal((await get('/n', { cookie: first.cookie })).body, '3');
});
