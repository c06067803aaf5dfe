// scripts/services.sh on ports of its own, beside the shared servers: start
// starts what is not answering, in a run folder of its own; stop stops only
// what start started (a server that was already up stays up).
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { reachable } from '../helpers/backends.mjs';
import { ferretBinary } from '../helpers/ferret-procs.mjs';
import { memcachedBinary, startMemcached } from '../helpers/memcached-procs.mjs';
import { freePort, waitFor } from '../helpers/procs.mjs';
import { redisBinaries } from '../helpers/redis-procs.mjs';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const missing = redisBinaries('redis-server') ?? memcachedBinary() ?? ferretBinary();

const cleanups = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

function services(cmd, env) {
  const r = spawnSync('bash', [path.join(root, 'scripts', 'services.sh'), cmd], { env: { ...process.env, ...env }, encoding: 'utf8' });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

describe('scripts/services.sh', { skip: missing?.reason ?? false }, () => {
  test('start, status, stop: one run folder, and stop leaves alone what it did not start', async () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hotsession-services-test-'));
    cleanups.push(() => fs.rmSync(tmp, { recursive: true, force: true }));
    const ports = { redis: await freePort(), memcached: await freePort(), mongodb: await freePort() };
    const env = {
      HOTSESSION_REDIS_PORT: String(ports.redis), HOTSESSION_MEMCACHED_PORT: String(ports.memcached), HOTSESSION_MONGODB_PORT: String(ports.mongodb),
      HOTSESSION_SERVICES_STATE: path.join(tmp, 'state'), HOTSESSION_SERVICES_DIR: '', TMPDIR: tmp,
    };
    // Someone else's memcached already on the port.
    const theirs = await startMemcached({ port: ports.memcached });
    cleanups.push(() => theirs.destroy?.() ?? theirs.stop());
    // Whatever happens below, nothing this test started outlives it.
    cleanups.push(() => services('stop', env));

    const started = services('start', env);
    assert.equal(started.status, 0, started.out);
    assert.match(started.out, /memcached already up on \d+ \(not started by this run\)/);
    const run = fs.readFileSync(env.HOTSESSION_SERVICES_STATE, 'utf8').trim();
    assert.ok(run.startsWith(path.join(tmp, 'hotsession-services.')), `run folder ${run} is a new one under TMPDIR`);
    assert.deepEqual(fs.readdirSync(run).filter((f) => f.endsWith('.pid')).sort(), ['ferretdb.pid', 'redis.pid']);
    assert.equal(await reachable('127.0.0.1', ports.redis), true);
    assert.equal(await reachable('127.0.0.1', ports.mongodb), true);

    const status = services('status', env);
    assert.equal(status.status, 0, status.out);
    assert.match(status.out, new RegExp(`redis up on 127\\.0\\.0\\.1:${ports.redis}`));
    assert.match(status.out, /started by this checkout: redis \(pid \d+/);
    assert.match(status.out, /started by this checkout: ferretdb \(pid \d+/);
    assert.doesNotMatch(status.out, /started by this checkout: memcached/);

    const again = services('start', env);
    assert.equal(again.status, 0, again.out);
    assert.match(again.out, /redis already up/);

    const stopped = services('stop', env);
    assert.equal(stopped.status, 0, stopped.out);
    assert.match(stopped.out, /stopped redis \(pid \d+\)/);
    assert.match(stopped.out, /stopped ferretdb \(pid \d+\)/);
    await waitFor('redis and ferretdb gone', async () => !(await reachable('127.0.0.1', ports.redis)) && !(await reachable('127.0.0.1', ports.mongodb)));
    assert.equal(await reachable('127.0.0.1', ports.memcached), true, 'the memcached it did not start is still up');
    assert.equal(fs.existsSync(env.HOTSESSION_SERVICES_STATE), false);
    assert.equal(fs.existsSync(run), false);
    assert.match(services('stop', env).out, /this checkout started nothing/);
  });

  test('a missing server program or Go is named, with what to install', async () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hotsession-services-test-'));
    cleanups.push(() => fs.rmSync(tmp, { recursive: true, force: true }));
    // A PATH with the shell tools the script uses, but no server, no Go and no apt-get.
    const bin = path.join(tmp, 'bin');
    fs.mkdirSync(bin);
    for (const tool of ['bash', 'cat', 'chmod', 'cp', 'dirname', 'grep', 'id', 'mkdir', 'mktemp', 'rm', 'sed', 'seq', 'sleep', 'tr']) {
      const at = spawnSync('bash', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).stdout.trim();
      if (at) fs.symlinkSync(at, path.join(bin, tool));
    }
    const r = services('start', {
      PATH: bin, HOTSESSION_REDIS_PORT: String(await freePort()), HOTSESSION_MEMCACHED_PORT: String(await freePort()),
      HOTSESSION_MONGODB_PORT: String(await freePort()), HOTSESSION_SERVICES_STATE: path.join(tmp, 'state'), TMPDIR: tmp, FERRETDB_BIN: path.join(tmp, 'none'),
    });
    assert.notEqual(r.status, 0, r.out);
    const needs = process.getuid?.() === 0 ? 'there is no apt-get here' : 'installing it needs root';
    assert.match(r.out, new RegExp(`redis-server is missing and ${needs}`));
    assert.match(r.out, new RegExp(`memcached is missing and ${needs}`));
    assert.match(r.out, /Go is not installed to build it/);
    assert.match(r.out, /could not start: redis memcached ferretdb/);
    assert.equal(fs.existsSync(path.join(tmp, 'state')), false, 'nothing started, nothing recorded');
  });
});
