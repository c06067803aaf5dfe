// Two real memcached processes behind one store: keys spread over both,
// every pool client and every store instance agrees on where a key lives,
// and one server going away only costs the sessions it held.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { MemcachedStore } from 'hotsession/memcached';
import { startHttp } from '../helpers/http-harness.mjs';
import { Jar, request } from '../helpers/jar.mjs';
import { memcachedBinary, startMemcached, stats } from '../helpers/memcached-procs.mjs';

const N = 300;
const frame = (i) => {
  const r = new Uint8Array(12);
  r[0] = 0x68;
  new DataView(r.buffer).setUint32(8, i);
  return r;
};

describe('MemcachedStore over two memcached servers', { skip: memcachedBinary()?.reason ?? false }, () => {
  let a;
  let b;
  let servers;
  before(async () => {
    a = await startMemcached();
    b = await startMemcached();
    servers = `${a.servers},${b.servers}`;
  });
  after(async () => {
    await a?.destroy();
    await b?.destroy();
  });

  test('sessions spread over both servers and read back from any store instance', async () => {
    const ids = Array.from({ length: N }, () => randomBytes(24).toString('base64url'));
    const writer = new MemcachedStore({ servers, prefix: 'multi:', pool: 3 });
    // Spaces after the commas are tolerated (memjs alone would take them as part of the host).
    const reader = new MemcachedStore({ servers: servers.replace(',', ' , '), prefix: 'multi:', pool: 2, batch: false });
    try {
      await Promise.all(ids.map((id, i) => writer.set(id, frame(i), 60_000)));
      const [sa, sb] = await Promise.all([stats(a.port), stats(b.port)]);
      const ia = Number(sa.curr_items);
      const ib = Number(sb.curr_items);
      assert.equal(ia + ib, N, `every record stored once (a=${ia}, b=${ib})`);
      // memjs hashes keys over the servers; 300 random ids never all land on one.
      assert.ok(ia >= N / 5 && ib >= N / 5, `keys spread over both servers (a=${ia}, b=${ib})`);
      const got = await Promise.all(ids.map((id) => reader.get(id)));
      got.forEach((r, i) => assert.equal(new DataView(r.buffer, r.byteOffset).getUint32(8), i));
      const again = await Promise.all(ids.map((id) => writer.get(id)));
      assert.ok(again.every((r) => r !== null));
    } finally {
      await writer.close();
      await reader.close();
    }
  });

  test('through node:http: one server down costs only its sessions; back up, all work', async () => {
    const store = new MemcachedStore({ servers, prefix: `multi-http:${randomBytes(4).toString('hex')}:`, timeout: 500 });
    const srv = await startHttp([{ name: 'sid', store }], { secret: 'multi' });
    try {
      const jars = Array.from({ length: 40 }, () => new Jar());
      await Promise.all(jars.map((j, i) => request(srv.url, `/set?n=${i}`, j)));
      const itemsB = Number((await stats(b.port)).curr_items);
      assert.ok(itemsB > 0);
      await b.stop();
      const down = await Promise.all(jars.map((j) => request(srv.url, '/get?k=n', j)));
      const ok = down.filter((r) => r.status === 200);
      const failed = down.filter((r) => r.status === 503);
      assert.equal(ok.length + failed.length, jars.length);
      assert.ok(ok.length > 0 && failed.length > 0, `sessions on the live server still work (${ok.length} ok, ${failed.length} 503)`);
      for (const r of ok) assert.notEqual(r.body.value, null);
      await b.restart();
      const back = await Promise.all(jars.map((j) => request(srv.url, '/get?k=n', j)));
      assert.ok(back.every((r) => r.status === 200), 'every request answers again');
      // The restarted server lost its sessions: exactly those come back empty.
      assert.equal(back.filter((r) => r.body.value === null).length, failed.length);
    } finally {
      await srv.close();
      await store.close();
    }
  });

  test('failover: true sends a dead server\'s keys to the live one (those sessions start fresh)', async () => {
    const store = new MemcachedStore({ servers, prefix: `multi-fo:${randomBytes(4).toString('hex')}:`, timeout: 500, failover: true });
    const srv = await startHttp([{ name: 'sid', store }], { secret: 'multi' });
    try {
      const jars = Array.from({ length: 30 }, () => new Jar());
      await Promise.all(jars.map((j, i) => request(srv.url, `/set?n=${i}`, j)));
      await b.stop();
      const down = await Promise.all(jars.map((j) => request(srv.url, '/get?k=n', j)));
      assert.ok(down.every((r) => r.status === 200), `no 503 with failover (${down.map((r) => r.status)})`);
      const lost = down.filter((r) => r.body.value === null).length;
      assert.ok(lost > 0 && lost < jars.length, `only the dead server's sessions are lost (${lost})`);
      const fresh = new Jar();
      assert.equal((await request(srv.url, '/set?n=new', fresh)).status, 200);
      assert.equal((await request(srv.url, '/get?k=n', fresh)).body.value, 'new');
    } finally {
      await b.restart();
      await srv.close();
      await store.close();
    }
  });
});
