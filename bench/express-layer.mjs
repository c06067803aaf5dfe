// What a session layer costs per request, in-process (no sockets, no load
// generator): express-session and hotsession/express, each in front of the
// bench's /write and /read handlers, driven through real IncomingMessage and
// ServerResponse objects whose socket is a sink. Two settings:
//   - node:http: the middleware called directly, as a plain http server would
//   - Express:   the same routes inside a real Express app
// A third middleware, "floor", only puts a plain object on req.session: what
// any session layer pays at least (one request property); the "over floor"
// columns are each middleware's cost over it.
//
// Why both settings: Express replaces the prototype of req and res on every
// request, and V8 then gives each request's objects a map of their own as
// soon as a property is added to them: every later property access misses
// the inline caches, so the same work costs several times more. hotsession's
// middlewares avoid that (src/adapters/shape.ts), which can make a request
// through them cheaper than one through the floor.
//   npm run bench:express-layer   (env: BENCH_REQUESTS=20000, BENCH_ROUNDS=3)
// Not part of the tests. Compare ratios within one run.
import assert from 'node:assert/strict';
import http from 'node:http';
import { createRequire } from 'node:module';
import os from 'node:os';
import { Duplex } from 'node:stream';

const require = createRequire(import.meta.url);
const express = require('express');
const expressSession = require('express-session');
const hotsession = require('../dist/adapters/express.js');
const { isNativeEnabled } = require('../dist/codec/index.js');

const QUICK = process.env.BENCH_QUICK === '1';
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? (QUICK ? 2000 : 20000));
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? (QUICK ? 1 : 3));
const CONCURRENCY = 100;
const options = { secret: 'hotsession bench secret: long enough to be a real one', resave: false, saveUninitialized: false, cookie: { maxAge: 15 * 60_000 } };

/** A socket that accepts and drops whatever the response writes. */
class Sink extends Duplex {
  constructor() {
    super();
    this.remoteAddress = '127.0.0.1';
  }
  _read() {}
  _write(chunk, encoding, cb) {
    cb();
  }
  _writev(chunks, cb) {
    cb();
  }
  setTimeout() {}
  setNoDelay() {}
}

/** One GET through `app`; resolves with the status and the Set-Cookie header. */
function request(app, path, cookie) {
  return new Promise((resolve) => {
    const socket = new Sink();
    const req = new http.IncomingMessage(socket);
    req.method = 'GET';
    req.url = path;
    req.httpVersion = '1.1';
    req.httpVersionMajor = 1;
    req.httpVersionMinor = 1;
    req.headers = cookie ? { host: 'bench', cookie } : { host: 'bench' };
    req.push(null);
    const res = new http.ServerResponse(req);
    res.assignSocket(socket);
    res.once('finish', () => {
      res.detachSocket(socket);
      resolve({ status: res.statusCode, setCookie: res.getHeader('set-cookie') });
    });
    app(req, res);
  });
}

let users = 0;
// The bench servers' three routes (bench/servers/express-app.mjs), on node:http objects.
function route(req, res) {
  const path = req.url;
  const send = (status, body) => {
    res.statusCode = status;
    res.setHeader('Content-Type', 'text/plain; charset=utf-8');
    res.setHeader('Content-Length', Buffer.byteLength(body));
    res.end(body);
  };
  if (path === '/login') {
    req.session.user = `u${++users}`;
    req.session.n = 0;
    return send(200, 'ok');
  }
  if (req.session?.user === undefined) return send(401, 'no session');
  if (path === '/write') {
    req.session.n = (req.session.n ?? 0) + 1;
    return send(200, String(req.session.n));
  }
  return send(200, req.session.user);
}

/** The floor: a stored plain object on req.session, nothing saved, no cookie. */
function floor() {
  const stored = new Map();
  return (req, res, next) => {
    const header = req.headers.cookie;
    req.session = (header && stored.get(header)) || {};
    if (!header) {
      res.setHeader('Set-Cookie', `floor=${users + 1}`);
      stored.set(`floor=${users + 1}`, req.session);
    }
    next();
  };
}

const middlewares = { floor, 'express-session': () => expressSession(options), 'hotsession/express': () => hotsession(options) };

function makeApp(kind, name) {
  const mw = middlewares[name]();
  if (kind === 'node:http') return (req, res) => mw(req, res, () => route(req, res));
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  app.use(mw);
  app.get(['/login', '/read', '/write'], route);
  return app;
}

async function measure(app, path, cookies) {
  const run = async (n) => {
    for (let i = 0; i < n; i += CONCURRENCY) {
      const batch = [];
      for (let j = 0; j < CONCURRENCY; j++) batch.push(request(app, path, cookies[j]));
      for (const r of await Promise.all(batch)) assert.equal(r.status, 200, `${path} answered ${r.status}`);
    }
  };
  await run(Math.max(CONCURRENCY, REQUESTS / 4));
  const t0 = process.hrtime.bigint();
  await run(REQUESTS);
  return Number(process.hrtime.bigint() - t0) / 1e3 / REQUESTS;
}

async function cell(kind, name, path) {
  const app = makeApp(kind, name);
  const cookies = [];
  for (let i = 0; i < CONCURRENCY; i++) {
    const r = await request(app, '/login');
    const sc = Array.isArray(r.setCookie) ? r.setCookie[0] : r.setCookie;
    assert.ok(sc, `${name} set no cookie on /login`);
    cookies.push(String(sc).split(';')[0]);
  }
  return measure(app, path, cookies);
}

const kinds = ['node:http', 'Express'];
const names = Object.keys(middlewares);
const paths = ['/write', '/read'];
const best = new Map();
for (let round = 0; round < ROUNDS; round++) {
  for (const path of paths) {
    for (const kind of kinds) {
      for (const name of names) {
        const us = await cell(kind, name, path);
        const key = `${kind} ${name} ${path}`;
        if (!best.has(key) || us < best.get(key)) best.set(key, us);
      }
    }
  }
}

const us = (n) => n.toFixed(1);
console.log(`\n## Session layer cost per request, in-process\n`);
console.log(`Node ${process.version}, ${os.cpus()[0]?.model ?? 'unknown CPU'} x${os.cpus().length}, codec ${isNativeEnabled() ? 'native' : 'JS'}, ${REQUESTS} requests per cell, ${CONCURRENCY} in flight, best of ${ROUNDS} rounds; MemoryStore of each middleware.`);
console.log('µs per request (route and response included); "over floor": each middleware\'s cost over the floor middleware (a plain object on req.session).');
console.log('Under Express it can be negative: hotsession\'s middlewares make the rest of the request cheaper (src/adapters/shape.ts).\n');
console.log('| route | setting | floor | express-session | hotsession/express | express-session over floor | hotsession/express over floor | express-session / hotsession |');
console.log('|---|---|---:|---:|---:|---:|---:|---:|');
for (const path of paths) {
  for (const kind of kinds) {
    const [f, es, hs] = names.map((n) => best.get(`${kind} ${n} ${path}`));
    console.log(`| ${path} | ${kind} | ${us(f)} | ${us(es)} | ${us(hs)} | ${us(es - f)} | ${us(hs - f)} | ${(es / hs).toFixed(2)}x |`);
  }
}
