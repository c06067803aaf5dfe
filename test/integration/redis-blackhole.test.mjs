// Redis black-holed (a partition: the connection stays open and nothing
// comes back) under a steady load of reads and writes: every operation is
// answered within the store's timeout (an error), what waits at the client
// stays under maxPending (reads included, and commands the store gave up on
// still count until ioredis settles them), memory stays flat, and the store
// works again once traffic flows. Runs against a redis-server of its own
// behind a TCP proxy started here.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import Redis from 'ioredis';
import { RedisStore } from 'hotsession/redis';
import { redisBinaries, startRedis } from '../helpers/redis-procs.mjs';
import { keysOf, patch, record } from '../helpers/redis-patch.mjs';

const skip = redisBinaries('redis-server');

/** A TCP proxy to `port` that can stop forwarding (both ways) and start again. */
async function startProxy(port) {
  const pairs = new Set();
  let holed = false;
  const flow = ({ client, upstream }) => {
    client.pipe(upstream);
    upstream.pipe(client);
  };
  const stall = ({ client, upstream }) => {
    client.unpipe(upstream);
    upstream.unpipe(client);
    // Nothing is read: bytes wait in the kernel's socket buffers, as behind a dead link.
    client.pause();
    upstream.pause();
  };
  const server = net.createServer((client) => {
    const upstream = net.connect(port, '127.0.0.1');
    const pair = { client, upstream };
    pairs.add(pair);
    if (holed) stall(pair);
    else flow(pair);
    const close = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    for (const s of [client, upstream]) {
      s.on('error', close);
      s.on('close', close);
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: server.address().port,
    hole() {
      if (holed) return;
      holed = true;
      for (const p of pairs) stall(p);
    },
    heal() {
      if (!holed) return;
      holed = false;
      for (const p of pairs) flow(p);
    },
    async close() {
      for (const { client, upstream } of pairs) {
        client.destroy();
        upstream.destroy();
      }
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

describe('RedisStore while Redis is black-holed', { skip: skip?.reason ?? false }, () => {
  const MAX_PENDING = 200;
  const TIMEOUT = 300;
  let redis;
  let proxy;
  let client;
  let store;
  before(async () => {
    redis = await startRedis();
    proxy = await startProxy(redis.port);
    client = new Redis({ port: proxy.port, host: '127.0.0.1', maxRetriesPerRequest: 1 });
    client.on('error', () => {});
    store = new RedisStore({ client, prefix: 'sess:hole:', maxPending: MAX_PENDING, timeout: TIMEOUT });
  });
  after(async () => {
    await store?.close().catch(() => {});
    client?.disconnect();
    await proxy?.close();
    await redis?.destroy();
  });

  test('pending, the client queue and memory stay bounded; answers come within the timeout; it recovers', async (t) => {
    const ids = Array.from({ length: 500 }, (_, i) => `s${i}`);
    for (let k = 0; k < ids.length; k += 100) await Promise.all(ids.slice(k, k + 100).map((id) => store.set(id, record({ user: id, n: 0 }), 600_000)));
    assert.equal(store.pending, 0);
    globalThis.gc?.();
    const rss0 = process.memoryUsage().rss;

    proxy.hole();
    const codes = new Map();
    let answered = 0;
    let slowest = 0;
    let maxPending = 0;
    let maxQueue = 0;
    let maxRss = rss0;
    const op = (fn) => {
      const t0 = performance.now();
      let p;
      try {
        p = Promise.resolve(fn());
      } catch (err) {
        p = Promise.reject(err);
      }
      return p.then(
        () => 'ok',
        (err) => err.code ?? err.message,
      ).then((code) => {
        answered++;
        slowest = Math.max(slowest, performance.now() - t0);
        codes.set(code, (codes.get(code) ?? 0) + 1);
      });
    };
    // About 2,000 operations/s for 4 s: reads, patches, whole writes.
    const all = [];
    const until = Date.now() + 4000;
    let i = 0;
    while (Date.now() < until) {
      for (let k = 0; k < 4; k++) {
        const id = ids[i++ % ids.length];
        all.push(op(() => store.get(id)), op(() => store.patch(id, patch({ set: { n: i } }), 600_000)));
      }
      if (i % 40 === 0) all.push(op(() => store.set(`new${i}`, record({ n: i }), 600_000)));
      maxPending = Math.max(maxPending, store.pending);
      maxQueue = Math.max(maxQueue, client.commandQueue.length + (client.offlineQueue?.length ?? 0));
      maxRss = Math.max(maxRss, process.memoryUsage().rss);
      await sleep(4);
    }
    await Promise.all(all);
    const sent = all.length;
    t.diagnostic(`${sent} ops in 4 s; pending peak ${maxPending}, ioredis queue peak ${maxQueue} commands, RSS +${((maxRss - rss0) / 1048576).toFixed(1)} MB, slowest ${slowest.toFixed(0)} ms; ${JSON.stringify([...codes])}`);
    assert.equal(answered, sent, 'every operation was answered');
    assert.ok(slowest < TIMEOUT + 250, `slowest answer ${slowest.toFixed(0)} ms (timeout ${TIMEOUT})`);
    assert.ok((codes.get('HOTSESSION_ERR_QUEUE_FULL') ?? 0) > sent / 2, `most refused at once: ${JSON.stringify([...codes])}`);
    assert.ok(codes.get('HOTSESSION_ERR_STORE_TIMEOUT') > 0, 'the first ones timed out');
    assert.equal(codes.get('ok') ?? 0, 0, 'nothing succeeded through the hole');
    // What the client holds: at most maxPending operations at the driver plus
    // writes the store queued (each batch is one command, so commands <= operations).
    assert.ok(store.pending <= 2 * MAX_PENDING, `pending ${store.pending}`);
    assert.ok(maxPending <= 2 * MAX_PENDING, `pending peaked at ${maxPending}`);
    assert.ok(maxQueue <= MAX_PENDING, `ioredis queue peaked at ${maxQueue} commands`);
    assert.ok(store.pending > 0, 'timed-out commands still count: ioredis holds them');
    assert.ok(maxRss - rss0 < 50 * 1024 * 1024, `RSS grew by ${((maxRss - rss0) / 1048576).toFixed(1)} MB`);

    proxy.heal();
    const t0 = Date.now();
    while (store.pending > 0 && Date.now() - t0 < 5000) await sleep(20);
    assert.equal(store.pending, 0, 'everything at the client settled once Redis answered');
    assert.equal(await store.patch('s1', patch({ set: { back: true } }), 600_000), 'ok');
    assert.ok(keysOf(await store.get('s1')).includes('back'));
    assert.ok(Date.now() - t0 < 2000, `recovered in ${Date.now() - t0} ms`);
  });

  test('past the cap, only what does not fit is refused, at once', async () => {
    const small = new RedisStore({ client, prefix: 'sess:hole:cap:', maxPending: 10, timeout: TIMEOUT });
    await small.set('a', record({ a: 1 }), 60_000);
    proxy.hole();
    const settled = (p) => p.then(() => 'ok', (err) => err.code);
    // 6 reads reach the client and hang there.
    const hung = Array.from({ length: 6 }, (_, i) => settled(small.get(`r${i}`)));
    await new Promise((r) => setImmediate(r));
    assert.equal(small.pending, 6);
    // A batch of 8 writes: 4 fit, 4 are refused without waiting for anything.
    const t0 = performance.now();
    const writes = Array.from({ length: 8 }, (_, i) => settled(small.patch(`w${i}`, patch({ set: { i } }), 60_000)));
    const refused = await Promise.race([Promise.all(writes.slice(4)), sleep(TIMEOUT / 2).then(() => 'late')]);
    assert.deepEqual(refused, Array(4).fill('HOTSESSION_ERR_QUEUE_FULL'), 'refused at once');
    assert.ok(performance.now() - t0 < TIMEOUT / 2);
    assert.equal(small.pending, 10);
    // Reads too: none fits now.
    assert.equal(await settled(small.get('more')), 'HOTSESSION_ERR_QUEUE_FULL');
    assert.deepEqual(await Promise.all(writes.slice(0, 4)), Array(4).fill('HOTSESSION_ERR_STORE_TIMEOUT'));
    assert.deepEqual(await Promise.all(hung), Array(6).fill('HOTSESSION_ERR_STORE_TIMEOUT'));
    assert.equal(small.pending, 10, 'timed out, still held by the client');
    proxy.heal();
    const t1 = Date.now();
    while (small.pending > 0 && Date.now() - t1 < 5000) await sleep(20);
    assert.equal(small.pending, 0);
    assert.equal(await small.patch('a', patch({ set: { b: 2 } }), 60_000), 'ok');
    await small.close();
  });
});
