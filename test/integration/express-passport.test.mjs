// Parity under a real login stack: one passport 0.7 + passport-local +
// connect-flash + csrf-sync app (Express 5, urlencoded bodies) is run on
// express-session + connect-redis and on hotsession/express (with a hotsession
// RedisStore, and with connect-redis), through the same steps: a bad password
// (the flash shown on the redirect target), a good one, a CSRF-protected POST
// with and without its token, logout, and the old cookies no longer logged in.
// Every step's status, Location, body and Set-Cookie (names and attributes, not
// the random values) must be the same on every stack.
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import hotsession from 'hotsession/express';
import { backend, REDIS_URL } from '../helpers/backends.mjs';
import { dropRedisPrefix } from '../helpers/cleanup.mjs';

const require = createRequire(import.meta.url);
const express = require('express');
const expressSession = require('express-session');
const { Passport } = require('passport');
const LocalStrategy = require('passport-local').Strategy;
const flash = require('connect-flash');
const { csrfSync } = require('csrf-sync');

const redisSkip = await backend('redis');
const SECRET = 'a passport parity secret';
const PREFIX = `hs:passport:${randomBytes(5).toString('hex')}:`;

const cleanups = [];
after(async () => {
  for (const fn of cleanups.reverse()) await fn();
  if (!redisSkip) await dropRedisPrefix(REDIS_URL, PREFIX);
});

/** The one user the app knows. */
const USERS = new Map([['ann', { id: 'u1', username: 'ann', password: 'correct horse' }]]);

/** The login app on `sessionMw`, listening on 127.0.0.1:0; resolves to its base URL. */
async function loginApp(sessionMw) {
  const passport = new Passport();
  passport.use(
    new LocalStrategy((username, password, done) => {
      const user = USERS.get(username);
      if (!user) return done(null, false, { message: 'Unknown user' });
      if (user.password !== password) return done(null, false, { message: 'Wrong password' });
      return done(null, user);
    }),
  );
  passport.serializeUser((user, done) => done(null, user.username));
  passport.deserializeUser((name, done) => done(null, USERS.get(name) ?? false));
  const { csrfSynchronisedProtection, generateToken } = csrfSync({ getTokenFromRequest: (req) => req.body?._csrf });

  const a = express();
  a.use(express.urlencoded({ extended: false }));
  a.use(sessionMw);
  a.use(flash());
  a.use(passport.initialize());
  a.use(passport.session());
  a.get('/login', (req, res) => res.type('text').send(`login form${req.flash('error').map((m) => ` [${m}]`).join('')}`));
  a.post('/login', passport.authenticate('local', { successRedirect: '/me', failureRedirect: '/login', failureFlash: true }));
  a.get('/me', (req, res) => (req.user ? res.json({ user: req.user.username }) : res.status(401).json({ user: null })));
  a.get('/form', (req, res) => (req.user ? res.json({ token: generateToken(req) }) : res.sendStatus(401)));
  a.post('/transfer', csrfSynchronisedProtection, (req, res) => res.json({ done: req.body.amount, by: req.user?.username ?? null }));
  a.post('/logout', (req, res, next) => req.logout((err) => (err ? next(err) : res.redirect('/login'))));
  // Express 5 passes csrf-sync's 403 here; the answer names the code, not the stack.
  a.use((err, req, res, _next) => res.status(err.status ?? 500).json({ error: err.code ?? err.message }));

  const server = http.createServer(a);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  cleanups.push(() => new Promise((r) => server.close(r)));
  return `http://127.0.0.1:${server.address().port}`;
}

/** A Set-Cookie line with its value and its clock-dependent Expires date blanked; attribute names and the rest kept. */
function cookieShape(line) {
  const [pair, ...attrs] = line.split(';').map((s) => s.trim());
  const name = pair.slice(0, pair.indexOf('='));
  const kept = attrs.map((a) => (/^expires=/i.test(a) ? 'Expires=<date>' : a));
  return [name, ...kept].join('; ');
}

/** Runs the login story against `base`; returns every step's record (random parts blanked) for comparison. */
async function story(base) {
  const steps = [];
  const send = async (label, method, path, { cookie, form } = {}) => {
    const headers = {};
    if (cookie) headers.cookie = cookie;
    let body;
    if (form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(form).toString();
    }
    const res = await fetch(base + path, { method, headers, body, redirect: 'manual' });
    const text = await res.text();
    const setCookie = res.headers.getSetCookie();
    const sid = setCookie.find((c) => c.startsWith('connect.sid='));
    const record = {
      label,
      status: res.status,
      location: res.headers.get('location'),
      type: res.headers.get('content-type'),
      body: text,
      setCookie: setCookie.map(cookieShape),
    };
    steps.push(record);
    return { record, text, cookie: sid ? sid.split(';')[0] : cookie };
  };

  const first = await send('login form, no cookie', 'GET', '/login');
  const bad = await send('bad password', 'POST', '/login', { cookie: first.cookie, form: { username: 'ann', password: 'nope' } });
  const shown = await send('flash on the redirect target', 'GET', '/login', { cookie: bad.cookie });
  const again = await send('flash shown once', 'GET', '/login', { cookie: shown.cookie });
  const good = await send('good password', 'POST', '/login', { cookie: again.cookie, form: { username: 'ann', password: 'correct horse' } });
  const anonCookie = again.cookie;
  const me = await send('logged in', 'GET', '/me', { cookie: good.cookie });
  const form = await send('csrf token', 'GET', '/form', { cookie: me.cookie });
  const { token } = JSON.parse(form.text);
  form.record.body = form.record.body.replace(token, '<token>');
  await send('post with the token', 'POST', '/transfer', { cookie: form.cookie, form: { amount: '5', _csrf: token } });
  await send('post without a token', 'POST', '/transfer', { cookie: form.cookie, form: { amount: '6' } });
  await send('post with a wrong token', 'POST', '/transfer', { cookie: form.cookie, form: { amount: '7', _csrf: 'x'.repeat(token.length) } });
  const loggedInCookie = form.cookie;
  const out = await send('logout', 'POST', '/logout', { cookie: loggedInCookie });
  await send('old logged-in cookie after logout', 'GET', '/me', { cookie: loggedInCookie });
  await send('cookie from before login', 'GET', '/me', { cookie: anonCookie });
  await send('cookie set by logout', 'GET', '/me', { cookie: out.cookie });
  await send('old cookie cannot post', 'POST', '/transfer', { cookie: loggedInCookie, form: { amount: '8', _csrf: token } });
  return { steps, rotated: good.cookie !== anonCookie && out.cookie !== loggedInCookie };
}

async function nodeRedisClient() {
  const { createClient } = require('redis');
  const client = createClient({ url: REDIS_URL });
  client.on('error', () => {});
  await client.connect();
  cleanups.push(() => client.close());
  return client;
}

function connectRedis(client, name) {
  const { RedisStore } = require('connect-redis');
  return new RedisStore({ client, prefix: `${PREFIX}${name}:` });
}

function hotRedis(name) {
  const Redis = require('ioredis');
  const { RedisStore } = require('hotsession/redis');
  const client = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  const store = new RedisStore({ client, prefix: `${PREFIX}${name}:` });
  cleanups.push(async () => {
    await store.close();
    client.disconnect();
  });
  return store;
}

const opts = (store) => ({ store, secret: SECRET, resave: false, saveUninitialized: false, cookie: { maxAge: 3_600_000, sameSite: 'lax' } });

describe('passport + connect-flash + csrf-sync: hotsession/express answers as express-session does', { skip: redisSkip?.reason ?? false }, () => {
  test('the same statuses, bodies and cookies on every stack', async () => {
    const client = await nodeRedisClient();
    const reference = await story(await loginApp(expressSession(opts(connectRedis(client, 'es')))));
    const onHotRedis = await story(await loginApp(hotsession(opts(hotRedis('hs')))));
    const onConnectRedis = await story(await loginApp(hotsession(opts(connectRedis(client, 'hscr')))));

    // The reference itself tells the story the test means to compare.
    const by = Object.fromEntries(reference.steps.map((s) => [s.label, s]));
    assert.equal(by['bad password'].status, 302);
    assert.equal(by['bad password'].location, '/login');
    assert.match(by['flash on the redirect target'].body, /\[Wrong password\]/);
    assert.doesNotMatch(by['flash shown once'].body, /Wrong password/);
    assert.equal(by['good password'].location, '/me');
    assert.equal(by['logged in'].body, '{"user":"ann"}');
    assert.equal(by['post with the token'].status, 200);
    assert.equal(by['post without a token'].status, 403);
    assert.equal(by['post with a wrong token'].status, 403);
    assert.equal(by['logout'].status, 302);
    assert.equal(by['old logged-in cookie after logout'].status, 401);
    assert.equal(by['cookie from before login'].status, 401);
    assert.equal(by['old cookie cannot post'].status, 403);
    assert.ok(reference.rotated, 'passport regenerates the session at login and logout');

    assert.deepEqual(onHotRedis.steps, reference.steps, 'hotsession/express on a hotsession RedisStore');
    assert.ok(onHotRedis.rotated);
    assert.deepEqual(onConnectRedis.steps, reference.steps, 'hotsession/express on connect-redis');
    assert.ok(onConnectRedis.rotated);
  });
});
