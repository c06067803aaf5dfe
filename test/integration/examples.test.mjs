// Every runnable example starts, prints its URL and answers; every README
// JavaScript block that is marked as runnable executes. Docs never rot.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { backend, MEMCACHED_SERVERS, REDIS_URL } from '../helpers/backends.mjs';
import { dropMemcachedSuffix, dropRedisSuffix, sessionIdOf } from '../helpers/cleanup.mjs';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

// Examples that need a backend name it in their file name.
const needs = (file) => ['redis', 'memcached', 'mongo'].find((b) => file.includes(b));

async function startExample(file) {
  const child = spawn(process.execPath, [path.join(root, 'examples', file)], {
    cwd: root,
    env: { ...process.env, PORT: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stderr.on('data', (d) => { err += d; });
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${file} printed no URL in 10 s: ${out} ${err}`)), 10_000);
    child.stdout.on('data', (d) => {
      out += d;
      const m = /(http:\/\/[^\s]+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.once('exit', (code) => reject(new Error(`${file} exited with ${code}: ${err}`)));
  });
  return { child, url };
}

async function removeExampleSession(url, cookie, b) {
  await fetch(new URL('/logout', url), { headers: { cookie } }).then((r) => r.arrayBuffer(), () => {});
  for (const pair of cookie.split('; ')) {
    const id = sessionIdOf(pair.slice(pair.indexOf('=') + 1));
    if (id === null) continue;
    if (b === 'redis') await dropRedisSuffix(REDIS_URL, id);
    if (b === 'memcached') await dropMemcachedSuffix(MEMCACHED_SERVERS, id);
  }
}

for (const file of readdirSync(path.join(root, 'examples')).filter((f) => /\.(m?js)$/.test(f)).sort()) {
  test(`example ${file} runs and keeps a session`, async (t) => {
    const b = needs(file);
    if (b) {
      const skip = await backend(b === 'mongo' ? 'mongo' : b);
      if (skip) return t.skip(skip.reason);
    }
    const { child, url } = await startExample(file);
    let cookie = '';
    try {
      const r1 = await fetch(url);
      assert.equal(r1.status < 500, true, `status ${r1.status}`);
      cookie = r1.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
      assert.ok(cookie.length > 0, 'the first visit sets a session cookie');
      const r2 = await fetch(url, { headers: { cookie } });
      assert.equal(r2.status < 500, true);
      const b1 = await r1.text();
      const b2 = await r2.text();
      assert.notEqual(b1, b2, 'the second visit sees the session the first one wrote');
    } finally {
      // The session this test made in a shared backend goes: through the
      // example's own /logout where it has one, then by its id.
      if (b && cookie) await removeExampleSession(url, cookie, b);
      child.kill('SIGTERM');
    }
  });
}

// The account-page examples: three devices log in, one logs the others
// out, they are anonymous afterwards, then "log out everywhere".
for (const file of readdirSync(path.join(root, 'examples')).filter((f) => /^users-.*\.js$/.test(f)).sort()) {
  test(`example ${file}: devices listed, "my other devices" and "everywhere" log them out`, async () => {
    const { child, url } = await startExample(file);
    const visit = async (p, cookie, ua = 'test') => {
      const r = await fetch(new URL(p, url), { headers: { cookie: cookie ?? '', 'user-agent': ua } });
      const set = r.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
      return { status: r.status, body: await r.text(), cookie: set || cookie };
    };
    try {
      const user = `kim${process.pid}`;
      const devices = [];
      for (const ua of ['laptop', 'phone', 'tablet']) {
        const r = await visit(`/login?user=${user}`, undefined, ua);
        assert.equal(r.status, 200, r.body);
        assert.match(r.body, new RegExp(`logged in as ${user}`));
        devices.push(r.cookie);
      }
      const page = await visit('/', devices[0]);
      for (const ua of ['laptop', 'phone', 'tablet']) assert.match(page.body, new RegExp(ua));
      assert.equal(page.body.match(/\(this device\)/g)?.length, 1);
      assert.match((await visit('/revoke-others', devices[0])).body, /^2 other devices logged out/);
      assert.match((await visit('/', devices[1])).body, /hello stranger/);
      assert.match((await visit('/', devices[2])).body, /hello stranger/);
      assert.match((await visit('/', devices[0])).body, new RegExp(`hello ${user}`));
      assert.match((await visit('/logout-everywhere', devices[0])).body, /logged out everywhere/);
      assert.match((await visit('/', devices[0])).body, /hello stranger/);
    } finally {
      child.kill('SIGTERM');
    }
  });
}

test('README code blocks marked `js run` execute', async () => {
  const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
  const blocks = [...readme.matchAll(/```js run\n([\s\S]*?)```/g)].map((m) => m[1]);
  assert.ok(blocks.length > 0, 'the README has runnable blocks');
  // Inside the package, so `require('hotsession')` resolves to this package as it would once installed.
  const dir = path.join(root, 'test', '.tmp-readme');
  mkdirSync(dir, { recursive: true });
  for (const [i, code] of blocks.entries()) {
    const file = path.join(dir, `block${i}.js`);
    // Resolve 'hotsession' from the project, as an installed package would.
    writeFileSync(file, code);
    const child = spawn(process.execPath, [file], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => { err += d; });
    const code_ = await new Promise((resolve) => child.once('exit', resolve));
    assert.equal(code_, 0, `README block ${i} failed: ${err}`);
  }
});
