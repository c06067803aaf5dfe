// A TCP proxy in the test's own process that stands between an app and a
// backend and misbehaves on request, so fault tests and bench/faults.mjs can
// break the network without root (no iptables, no toxiproxy binary):
//
//   pass        forward both ways (the start state, and the heal)
//   blackhole   forward nothing: every socket stops being read, so bytes wait
//               in the kernel and the peers see an open connection that says
//               nothing; new connections are accepted but not connected
//               upstream. On pass() everything held is delivered, as TCP
//               retransmission delivers it after a partition heals. (Dropping
//               bytes instead would desynchronise the RESP/memcached stream,
//               which a real network never does to a live connection.)
//   delay(ms)   deliver each chunk `ms` after it arrived, in order (replies
//               only by default: "+500 ms per reply"; `when` limits it to the
//               connections whose first client bytes match, e.g. a replica's)
//   reset()     close every connection with a TCP RST, then keep passing
//
//   app ──▶ proxy :port ──▶ backend host:port
import net from 'node:net';
import { once } from 'node:events';

/**
 * Starts a proxy on a free loopback port forwarding to `target`.
 * @param {{ host?: string, port: number }} target
 */
export async function startFaultProxy(target) {
  const host = target.host ?? '127.0.0.1';
  const pairs = new Set();
  let mode = 'pass';
  let delayMs = 0;
  let delayUp = false;
  let delayWhen = null;
  const stats = { connections: 0, resets: 0, held: 0 };

  const server = net.createServer((client) => {
    stats.connections++;
    // head: the client's first bytes, for `when` (who is this connection?).
    const pair = { client, upstream: null, lanes: [], head: '' };
    pairs.add(pair);
    client.on('error', () => {});
    client.once('close', () => {
      pairs.delete(pair);
      pair.upstream?.destroy();
    });
    if (mode === 'blackhole') {
      client.pause();
      stats.held++;
    } else {
      connectUpstream(pair);
    }
  });

  function connectUpstream(pair) {
    const up = net.connect({ host, port: target.port });
    pair.upstream = up;
    up.on('error', () => {});
    up.once('close', () => pair.client.destroy());
    const chosen = () => delayWhen === null || delayWhen(pair.head);
    pair.lanes = [lane(pair, pair.client, up, () => delayUp && chosen()), lane(pair, up, pair.client, chosen)];
    if (mode === 'blackhole') up.pause();
    else pair.client.resume();
  }

  /** One direction of a pair: from `src` to `dst`, honouring the current mode. */
  function lane(pair, src, dst, delayed) {
    const queue = [];
    let timer = null;
    const drain = () => {
      timer = null;
      const now = Date.now();
      while (queue.length > 0 && queue[0].due <= now) dst.write(queue.shift().chunk);
      if (queue.length > 0) timer = setTimeout(drain, queue[0].due - now);
    };
    src.on('data', (chunk) => {
      if (src === pair.client && pair.head.length < 4096) pair.head += chunk.toString('latin1', 0, 4096);
      if (dst.destroyed) return;
      const wait = mode === 'delay' && delayed() ? delayMs : 0;
      // A chunk that arrived while delayed keeps its place ahead of later ones.
      if (wait === 0 && queue.length === 0) {
        dst.write(chunk);
        return;
      }
      queue.push({ chunk, due: Date.now() + wait });
      if (timer === null) timer = setTimeout(drain, Math.max(0, queue[0].due - Date.now()));
    });
    return { stop: () => { if (timer) clearTimeout(timer); } };
  }

  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address();

  return {
    port,
    host: '127.0.0.1',
    url: `redis://127.0.0.1:${port}`,
    stats,
    get mode() {
      return mode;
    },
    /** Forwards both ways again; delivers whatever a black hole held. */
    pass() {
      mode = 'pass';
      for (const p of pairs) {
        if (p.upstream === null) connectUpstream(p);
        else {
          p.client.resume();
          p.upstream.resume();
        }
      }
    },
    /** Stops forwarding; connections stay open and silent. */
    blackhole() {
      mode = 'blackhole';
      for (const p of pairs) {
        p.client.pause();
        p.upstream?.pause();
      }
    },
    /**
     * Delays every chunk by `ms`; replies only unless `{ both: true }`; only
     * on connections whose client bytes so far satisfy `when(head)` if given.
     * Pass 0 (or call pass()) to stop delaying; chunks already delayed keep their time.
     */
    delay(ms, { both = false, when = null } = {}) {
      delayMs = ms;
      delayUp = both;
      delayWhen = when;
      if (ms > 0) mode = 'delay';
      else this.pass();
    },
    /** Resets every open connection (RST, as a firewall or a NAT timeout does); keeps listening. */
    reset() {
      for (const p of [...pairs]) {
        stats.resets++;
        for (const l of p.lanes) l.stop();
        for (const s of [p.client, p.upstream]) {
          if (s === null || s.destroyed) continue;
          if (typeof s.resetAndDestroy === 'function') s.resetAndDestroy();
          else s.destroy();
        }
        pairs.delete(p);
      }
      if (mode === 'blackhole') mode = 'pass';
    },
    /** Open connections right now. */
    get open() {
      return pairs.size;
    },
    async close() {
      for (const p of pairs) {
        for (const l of p.lanes) l.stop();
        p.client.destroy();
        p.upstream?.destroy();
      }
      pairs.clear();
      server.close();
      await once(server, 'close').catch(() => {});
    },
  };
}
