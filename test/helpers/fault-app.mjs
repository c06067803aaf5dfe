// The app under test in fault scenarios, run as a child process (fork) by
// fault-load.mjs's startApp(), so a crash is an exit the test sees and RSS is
// the app's alone. One JSON config in HS_FAULT_APP picks the stack and store:
//
//   stack: http | uws | express (hotsession/express) | express-session
//   store: redis | memcached | mongo | memory        (hotsession stores)
//          connect-redis | connect-memcached | connect-mongo (express stacks)
//
// Routes (the same on every stack):
//   GET /login  new session { user, n: 0 }         -> 200 "ok" + Set-Cookie
//   GET /write  n += 1, saved before the answer    -> 200 "<n>", 401 without a session
//   GET /read   n                                  -> 200 "<n>", 401 without a session
//
// IPC to the parent: { type: 'ready', port }, then every 200 ms
// { type: 'sample', t, rss, heapUsed, pending, driver, errors } where pending
// is the store's own count (null when it exposes none), driver the commands
// outstanding inside the client library (ioredis command + offline queues;
// null for other clients), errors the session errors seen so far by
// "code status" (e.g. "HOTSESSION_ERR_QUEUE_FULL 503").
import http from 'node:http';
import { createRequire } from 'node:module';
import { withWait } from './redis-wait.mjs';

const require = createRequire(import.meta.url);
const cfg = JSON.parse(process.env.HS_FAULT_APP ?? '{}');
const SECRET = 'fault scenarios: a long enough secret';
const MAX_AGE = 15 * 60_000;
const prefix = cfg.prefix ?? `hsfault:${process.pid}:`;

const errors = {};
function tally(err) {
  const status = err?.status ?? err?.statusCode ?? '-';
  const key = `${err?.code ?? err?.name ?? 'Error'} ${status}`;
  errors[key] = (errors[key] ?? 0) + 1;
}

/** ioredis client for a standalone server or a sentinel group, as the README recommends. */
function ioredisClient() {
  const Redis = require('ioredis');
  const opts = { maxRetriesPerRequest: 1, ...cfg.clientOptions };
  const client = cfg.redis.sentinels
    ? new Redis({ sentinels: cfg.redis.sentinels, name: cfg.redis.name, ...opts })
    : new Redis(cfg.redis.url, opts);
  client.on('error', () => {}); // expected while the backend is down; requests see them as 503s
  return client;
}

async function makeStore() {
  switch (cfg.store) {
    case 'memory': {
      const { MemoryStore } = require('hotsession');
      const store = new MemoryStore(cfg.storeOptions);
      return { store, driver: () => null, close: () => store.close() };
    }
    case 'redis': {
      const { RedisStore } = require('hotsession/redis');
      const client = ioredisClient();
      const driven = cfg.wait ? withWait(client, cfg.wait) : client;
      const store = new RedisStore({ client: driven, prefix, ...cfg.storeOptions });
      const driver = () => (client.commandQueue?.length ?? 0) + (client.offlineQueue?.length ?? 0);
      return { store, driver, extra: () => (cfg.wait ? { waits: driven.waitCounters } : {}), close: async () => { await store.close(); client.disconnect(); } };
    }
    case 'memcached': {
      const { MemcachedStore } = require('hotsession/memcached');
      const store = new MemcachedStore({ servers: cfg.memcached, prefix, ...cfg.storeOptions });
      return { store, driver: () => null, close: () => store.close() };
    }
    case 'mongo': {
      const { MongoStore } = require('hotsession/mongo');
      const store = new MongoStore({ url: cfg.mongo, dbName: cfg.db ?? 'hsfault', autoRemove: 'disabled', ...cfg.storeOptions });
      return { store, driver: () => null, close: () => store.close() };
    }
    case 'connect-redis': {
      const { RedisStore } = require('connect-redis');
      const { createClient } = require('redis');
      const client = createClient({ url: cfg.redis.url });
      client.on('error', () => {});
      await client.connect();
      return { store: new RedisStore({ client, prefix }), driver: () => null, close: () => client.disconnect() };
    }
    case 'connect-memcached': {
      const MemcachedStore = require('connect-memcached')(expressSessionModule());
      const store = new MemcachedStore({ hosts: [cfg.memcached], prefix });
      return { store, driver: () => null, close: async () => store.client.end() };
    }
    case 'connect-mongo': {
      const mod = require('connect-mongo');
      const MongoStore = mod.default ?? mod;
      const store = MongoStore.create({ mongoUrl: cfg.mongo, dbName: cfg.db ?? 'hsfault', collectionName: 'connect_mongo', autoRemove: 'disabled' });
      return { store, driver: () => null, close: () => store.close() };
    }
    default:
      throw new Error(`unknown store ${cfg.store}`);
  }
}

/** The session() of the express stack: hotsession/express or express-session. */
function expressSessionModule() {
  if (cfg.stack === 'express-session') return require('express-session');
  const mod = require('hotsession/express');
  return [mod, mod.default, mod.session].find((f) => typeof f === 'function');
}

let users = 0;
const text = { 'content-type': 'text/plain' };

/** The three routes over a get/set view of the session; returns [status, body]. */
function route(path, get, set) {
  if (path === '/login') {
    set('user', `u${++users}`);
    set('n', 0);
    return [200, 'ok'];
  }
  if (path !== '/write' && path !== '/read') return [404, 'not found'];
  if (get('user') === undefined) return [401, 'no session'];
  if (path === '/read') return [200, String(get('n') ?? 0)];
  const n = (get('n') ?? 0) + 1;
  set('n', n);
  return [200, String(n)];
}

function listenHttp(handler) {
  const server = http.createServer(handler);
  server.keepAliveTimeout = 60_000;
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server.address().port)));
}

async function startHttpStack(store) {
  const { sessions, getSession } = require('hotsession/http');
  const mw = sessions('sid', store, { secret: SECRET, cookie: { maxAge: MAX_AGE }, onError: tally });
  return listenHttp((req, res) => mw(req, res, (err) => {
    if (err) {
      res.writeHead(err.status ?? 503, text);
      return res.end('store unavailable');
    }
    const s = getSession(req);
    const [status, body] = route(req.url, (k) => s.get(k), (k, v) => s.set(k, v));
    // writeHead + end is node:http's usual style; `httpSetHeader` answers through
    // statusCode/setHeader instead, which leaves the headers unsent until end.
    if (cfg.httpSetHeader) {
      res.statusCode = status;
      res.setHeader('content-type', text['content-type']);
    } else {
      res.writeHead(status, text);
    }
    res.end(body);
  }));
}

async function startUwsStack(store) {
  const uWS = require('uWebSockets.js');
  const { sessions } = require('hotsession/uws');
  const withSession = sessions('sid', store, { secret: SECRET, cookie: { maxAge: MAX_AGE }, onError: tally });
  const app = uWS.App();
  app.any('/*', withSession((res, req, s) => {
    const [status, body] = route(req.getUrl(), (k) => s.get(k), (k, v) => s.set(k, v));
    return { status, headers: text, body };
  }));
  return new Promise((resolve, reject) => {
    app.listen('127.0.0.1', 0, (token) => (token ? resolve(uWS.us_socket_local_port(token)) : reject(new Error('uWS could not listen'))));
  });
}

async function startExpressStack(store) {
  const express = require('express');
  const session = expressSessionModule();
  const app = express();
  // Express' own final handler answers err.status/err.statusCode (else 500); 'test' keeps it quiet.
  app.set('env', 'test');
  app.disable('x-powered-by');
  app.use(session({ secret: SECRET, resave: false, saveUninitialized: false, cookie: { maxAge: MAX_AGE }, store }));
  app.get(['/login', '/write', '/read'], (req, res) => {
    const sess = req.session;
    const [status, body] = sess === undefined
      ? [503, 'no session store'] // express-session leaves req.session unset while its store is disconnected
      : route(req.path, (k) => sess[k], (k, v) => { sess[k] = v; });
    res.status(status).type('text/plain').send(body);
  });
  app.use((err, req, res, next) => {
    tally(err);
    next(err);
  });
  return listenHttp(app);
}

const built = await makeStore();
const stacks = { http: startHttpStack, uws: startUwsStack, express: startExpressStack, 'express-session': startExpressStack };
const start = stacks[cfg.stack];
if (start === undefined) throw new Error(`unknown stack ${cfg.stack}`);
const port = await start(built.store);

const sample = () => {
  const m = process.memoryUsage();
  const pending = built.store.pending;
  return {
    type: 'sample', t: Date.now(), rss: m.rss, heapUsed: m.heapUsed,
    pending: typeof pending === 'number' ? pending : null,
    driver: built.driver(), errors: { ...errors }, ...built.extra?.(),
  };
};
process.send({ type: 'ready', port, pid: process.pid });
const timer = setInterval(() => process.send(sample()), 200);
process.on('message', (msg) => {
  if (msg?.type === 'sample') process.send(sample());
  if (msg?.type === 'stop') {
    clearInterval(timer);
    setTimeout(() => process.exit(0), 1500).unref();
    Promise.resolve().then(built.close).catch(() => {}).finally(() => process.exit(0));
  }
});
process.on('disconnect', () => process.exit(0));
