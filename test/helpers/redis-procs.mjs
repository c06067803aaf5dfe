// Real redis-server processes for tests that need their own: a standalone
// server to kill and restart (fault tests) and a 3-master cluster. Every
// process listens on a free loopback port, keeps nothing on disk beyond a
// temp dir, and is killed by the returned handle.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { REQUIRED } from './backends.mjs';
import { freePort, waitFor } from './procs.mjs';

function has(bin) {
  return spawnSync(bin, ['--version'], { stdio: 'ignore' }).status === 0;
}

/**
 * `{ reason }` (pass as a suite's skip) when the redis binaries are missing
 * and not required; throws when HOTSESSION_REQUIRE_BACKENDS=1.
 */
export function redisBinaries(...bins) {
  const missing = (bins.length ? bins : ['redis-server']).filter((b) => !has(b));
  if (missing.length === 0) return undefined;
  const reason = `${missing.join(', ')} not installed (Debian: redis-server, redis-tools)`;
  if (REQUIRED) throw new Error(`${reason}; HOTSESSION_REQUIRE_BACKENDS=1 requires it`);
  return { reason };
}

export { freePort } from './procs.mjs';

/** Sends one inline command and resolves with the raw reply text. */
export function rawCommand(port, line, timeout = 1000) {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port });
    let out = '';
    s.setTimeout(timeout, () => { s.destroy(); reject(new Error('timeout')); });
    s.on('connect', () => s.write(line + '\r\n'));
    s.on('data', (d) => {
      out += d;
      // One reply: a simple line, or a bulk string whose length we know.
      const m = /^\$(\d+)\r\n/.exec(out);
      if ((m && out.length >= m[0].length + Number(m[1]) + 2) || (!out.startsWith('$') && out.endsWith('\r\n'))) {
        s.end();
        resolve(out);
      }
    });
    s.on('error', reject);
  });
}

/**
 * Starts `redis-server` on `port` (a free one when omitted) with nothing
 * persisted. Returns { port, url, stop(), restart() }.
 */
export async function startRedis({ port, args = [] } = {}) {
  port ??= await freePort();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'hotsession-redis-'));
  let child = null;
  const launch = async () => {
    child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, ...args], {
      stdio: 'ignore',
    });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.exited = exited;
    await waitFor(`redis-server :${port}`, async () => {
      if (child.exitCode !== null) throw new Error(`redis-server exited with ${child.exitCode}`);
      return (await rawCommand(port, 'PING')).startsWith('+PONG');
    });
  };
  await launch();
  const handle = {
    port,
    url: `redis://127.0.0.1:${port}`,
    dir,
    /** Kills the server (SIGKILL: no graceful shutdown, like a crash). */
    async stop() {
      if (child === null || child.exitCode !== null || child.signalCode !== null) return;
      const c = child;
      c.kill('SIGKILL');
      await c.exited;
    },
    /** Starts it again on the same port. */
    async restart() {
      await handle.stop();
      await launch();
    },
    async destroy() {
      await handle.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return handle;
}

/**
 * Starts `n` cluster-enabled redis-servers and joins them into a cluster of
 * `n` masters (no replicas). Returns { nodes: [{host, port}], stop() }.
 */
export async function startCluster(n = 3) {
  const servers = [];
  try {
    for (let i = 0; i < n; i++) {
      const port = await freePort();
      servers.push(await startRedis({
        port,
        args: ['--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`, '--cluster-node-timeout', '5000'],
      }));
    }
    const addrs = servers.map((s) => `127.0.0.1:${s.port}`);
    const r = spawnSync('redis-cli', ['--cluster', 'create', ...addrs, '--cluster-replicas', '0', '--cluster-yes'], { encoding: 'utf8', timeout: 30_000 });
    if (r.status !== 0) throw new Error(`redis-cli --cluster create failed: ${r.stderr || r.stdout}`);
    for (const s of servers) {
      await waitFor(`cluster node :${s.port}`, async () => (await rawCommand(s.port, 'CLUSTER INFO')).includes('cluster_state:ok'), 20_000);
    }
  } catch (err) {
    for (const s of servers) await s.destroy();
    throw err;
  }
  return {
    nodes: servers.map((s) => ({ host: '127.0.0.1', port: s.port })),
    servers,
    async stop() {
      for (const s of servers) await s.destroy();
    },
  };
}

/** The pid of the redis-server (or sentinel) listening on `port` (from INFO server). */
export async function redisPid(port) {
  const info = await rawCommand(port, 'INFO server');
  const m = /process_id:(\d+)/.exec(info);
  if (m === null) throw new Error(`no process_id in INFO of :${port}`);
  return Number(m[1]);
}

/** Everything after the first line of a multi-bulk reply, as its bulk strings. */
function bulkStrings(reply) {
  return [...reply.matchAll(/\$\d+\r\n([^\r]*)\r\n/g)].map((m) => m[1]);
}

/**
 * A master, `replicas` replicas (1 by default) and one Sentinel (quorum 1),
 * each a process of the test's own on a free loopback port: with one replica,
 * the smallest group where killing the master makes Sentinel promote the
 * replica. Sentinel is `redis-server <conf> --sentinel` (Debian's
 * redis-sentinel package ships the same binary).
 * `masterAddress(port)` may return another port by which everyone (replicas,
 * Sentinel, clients) reaches the master: a fault proxy in front of it, to slow
 * the replication stream. (A replica pointed at another port than the one
 * Sentinel monitors is "misconfigured": Sentinel re-points it within seconds.)
 * Returns { name, master, replica, replicas, sentinels, masterPort(), destroy() }.
 */
export async function startSentinelGroup({ name = 'hsmaster', replicas: count = 1, downAfterMs = 1000, failoverTimeoutMs = 3000, masterAddress = async (p) => p } = {}) {
  const master = await startRedis();
  const replicas = [];
  let sentinel = null;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'hotsession-sentinel-'));
  const destroy = async () => {
    if (sentinel !== null && sentinel.exitCode === null && sentinel.signalCode === null) {
      sentinel.kill('SIGKILL');
      await sentinel.exited;
    }
    for (const r of replicas) await r.destroy();
    await master.destroy();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const masterPort = await masterAddress(master.port);
    for (let i = 0; i < count; i++) replicas.push(await startRedis({ args: ['--replicaof', '127.0.0.1', String(masterPort)] }));
    const online = (info) => (info.match(/^slave\d+:.*state=online/gm) ?? []).length;
    await waitFor('replicas in sync', async () => online(await rawCommand(master.port, 'INFO replication')) === count, 15_000);
    const port = await freePort();
    const conf = path.join(dir, 'sentinel.conf');
    writeFileSync(conf, [
      `port ${port}`, 'bind 127.0.0.1', `dir ${dir}`,
      `sentinel monitor ${name} 127.0.0.1 ${masterPort} 1`,
      `sentinel down-after-milliseconds ${name} ${downAfterMs}`,
      `sentinel failover-timeout ${name} ${failoverTimeoutMs}`,
      `sentinel parallel-syncs ${name} 1`, '',
    ].join('\n'));
    sentinel = spawn('redis-server', [conf, '--sentinel'], { stdio: 'ignore' });
    sentinel.exited = new Promise((resolve) => sentinel.once('exit', resolve));
    // Sentinel finds replicas through the master's INFO: wait until it knows them, or no failover can happen.
    await waitFor(`sentinel :${port} knows the replicas`, async () => {
      if (sentinel.exitCode !== null) throw new Error(`sentinel exited with ${sentinel.exitCode}`);
      const known = bulkStrings(await rawCommand(port, `SENTINEL REPLICAS ${name}`));
      return replicas.every((r) => known.includes(String(r.port)));
    }, 20_000);
    return {
      name,
      master,
      replica: replicas[0],
      replicas,
      sentinels: [{ host: '127.0.0.1', port }],
      /** The port Sentinel names as the master now. */
      async masterPort() {
        const [, p] = bulkStrings(await rawCommand(port, `SENTINEL GET-MASTER-ADDR-BY-NAME ${name}`));
        return Number(p);
      },
      destroy,
    };
  } catch (err) {
    await destroy();
    throw err;
  }
}
