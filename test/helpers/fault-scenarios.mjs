// The fault scenarios of issue #14, each against backend processes it starts
// itself, under the fixed-rate load of fault-load.mjs. The tests
// (test/integration/faults-*.test.mjs) assert on the figures a scenario
// returns; bench/faults.mjs runs the same scenarios on more stacks and
// prints them. Every scenario can run several apps side by side (`apps`):
// one backend, one fault, one load per app, figures per app.
//
// Marks on every load: 'fault' (injected), 'down' (in effect: the process
// is stopped, the proxy silent...), 'up' (just before the heal starts: the
// backend may answer from here on), 'heal' (the backend is back, confirmed).
// A 200 to a save issued after 'down' and answered before 'up' cannot have
// been acknowledged by the backend: `okWhileDown` counts those. Recovery is
// measured from 'heal'.
import { setTimeout as sleep } from 'node:timers/promises';
import { errorFigures, Load, queueFigures, rssFigures, startApp } from './fault-load.mjs';
import { startFaultProxy } from './fault-proxy.mjs';
import { KILL_TEST_SQLITE, startFerret } from './ferret-procs.mjs';
import { startMemcached } from './memcached-procs.mjs';
import { pauseProcess, resumeProcess, waitFor } from './procs.mjs';
import { redisPid, startRedis, startSentinelGroup } from './redis-procs.mjs';

/**
 * Runs `fault(mark)` under load on every app of `apps` ([{ label, config,
 * rate, sessions }]); resolves to { [label]: figures }.
 */
export async function underLoad(apps, { warmMs = 2000, graceMs = 2000, readShare = 0, loginShare = 0 }, fault) {
  const runs = [];
  try {
    for (const a of apps) {
      const app = await startApp(a.config);
      const load = new Load({ url: app.url, rate: a.rate, sessions: a.sessions, readShare, loginShare });
      runs.push({ a, app, load });
      await load.login();
    }
    for (const r of runs) r.load.start();
    await sleep(warmMs);
    const mark = (name, at = performance.now()) => { for (const r of runs) r.load.mark(name, at); };
    const extra = (await fault(mark)) ?? {};
    await Promise.all(runs.map((r) => r.load.stop()));
    await Promise.all(runs.map((r) => r.load.verify()));
    const out = {};
    for (const { a, app, load } of runs) {
      const last = await app.sample();
      const from = load.wallOf('fault');
      out[a.label] = {
        ...load.figures({ graceMs }),
        okWhileDown: okWhileDown(load),
        ...rssFigures(app.samples, from),
        ...queueFigures(app.samples, from),
        errors: errorFigures(last ? [...app.samples, last] : app.samples),
        crashed: app.crashed,
        stderr: app.crashed ? app.stderr() : undefined,
        ...extra,
        load,
        samples: app.samples,
      };
    }
    return out;
  } finally {
    for (const r of runs) {
      r.load.close();
      await r.app.stop();
    }
  }
}

/** 200s to saves (writes and new sessions) issued once the fault was in effect and answered before the backend could answer again. */
function okWhileDown(load) {
  const { down, up } = load.marks;
  if (down === undefined || up === undefined) return 0;
  return load.requestsBetween(down, up).filter((r) => r.kind !== 'read' && r.status === 200 && r.issued + r.ms < up).length;
}

/** App entries for `stacks` ([{ label, stack, store, ...config }]) with one rate and session count. */
export function appsFor(stacks, backend, { rate, sessions, storeOptions } = {}) {
  return stacks.map(({ label, rate: r, sessions: s, ...config }) => ({
    label: label ?? `${config.stack}/${config.store}`,
    rate: r ?? rate,
    sessions: s ?? sessions,
    config: { ...backend, storeOptions, ...config },
  }));
}

/** Redis frozen with SIGSTOP for `freezeMs`, then SIGCONT. */
export async function redisFreeze({ stacks, freezeMs = 5000, afterMs = 3000, rate = 200, sessions = 300, storeOptions, loginShare = 0 } = {}) {
  const redis = await startRedis();
  let pid = null;
  try {
    pid = await redisPid(redis.port);
    return await underLoad(appsFor(stacks, { redis: { url: redis.url } }, { rate, sessions, storeOptions }), { loginShare }, async (mark) => {
      mark('fault');
      await pauseProcess(pid);
      mark('down');
      await sleep(freezeMs);
      mark('up');
      resumeProcess(pid);
      mark('heal');
      await sleep(afterMs);
    });
  } finally {
    if (pid !== null) resumeProcess(pid);
    await redis.destroy();
  }
}

/**
 * Redis killed (SIGKILL) and started again on the same port after `downMs`.
 * It runs with an fsynced AOF, so whatever it acknowledged survives the
 * crash: a lost write is then the app's fault, not the server's.
 */
export async function redisKill({ stacks, downMs = 3000, afterMs = 4000, rate = 200, sessions = 300, storeOptions } = {}) {
  const redis = await startRedis({ args: ['--appendonly', 'yes', '--appendfsync', 'always'] });
  try {
    return await underLoad(appsFor(stacks, { redis: { url: redis.url } }, { rate, sessions, storeOptions }), {}, async (mark) => {
      mark('fault');
      await redis.stop();
      mark('down');
      await sleep(downMs);
      mark('up');
      await redis.restart(); // resolves once it answers PING (the AOF is loaded)
      mark('heal');
      await sleep(afterMs);
    });
  } finally {
    await redis.destroy();
  }
}

/** Redis behind a proxy that forwards nothing for `holeMs` (connections stay open), then everything. */
export async function redisBlackhole({ stacks, holeMs = 10_000, afterMs = 3000, rate = 200, sessions = 300, storeOptions } = {}) {
  const redis = await startRedis();
  const proxy = await startFaultProxy({ port: redis.port });
  try {
    return await underLoad(appsFor(stacks, { redis: { url: proxy.url } }, { rate, sessions, storeOptions }), {}, async (mark) => {
      mark('fault');
      proxy.blackhole();
      mark('down');
      await sleep(holeMs);
      mark('up');
      proxy.pass();
      mark('heal');
      await sleep(afterMs);
    });
  } finally {
    await proxy.close();
    await redis.destroy();
  }
}

/**
 * Every Redis reply delayed by `delayMs` for `slowMs`, at a rate several
 * times what `maxPending` writes in flight can carry (a write is in flight
 * about `delayMs`, so the store can complete about maxPending / delay writes/s).
 */
export async function redisSlow({ stacks, delayMs = 500, slowMs = 8000, afterMs = 3000, rate = 250, sessions = 600, storeOptions } = {}) {
  const redis = await startRedis();
  const proxy = await startFaultProxy({ port: redis.port });
  try {
    return await underLoad(appsFor(stacks, { redis: { url: proxy.url } }, { rate, sessions, storeOptions }), {}, async (mark) => {
      mark('fault');
      proxy.delay(delayMs);
      await sleep(slowMs);
      proxy.pass();
      mark('heal');
      await sleep(afterMs);
    });
  } finally {
    await proxy.close();
    await redis.destroy();
  }
}

/**
 * A master, a replica and a Sentinel; the master is killed under load and
 * Sentinel promotes the replica. `promotedMs`: kill to promotion, as Sentinel
 * reports it. The old master never comes back, so writes it acknowledged and
 * had not yet replicated are lost: lostAcked measures them. `replicaLagMs`
 * puts a proxy in front of the master that delays the replication stream
 * only (a replica farther away than loopback; clients are not slowed).
 */
export async function sentinelFailover({ stacks, afterMs = 4000, rate = 200, sessions = 300, storeOptions, replicaLagMs = 0, replicas = 1 } = {}) {
  let link = null;
  const masterAddress = async (masterPort) => {
    if (replicaLagMs === 0) return masterPort;
    link = await startFaultProxy({ port: masterPort });
    // A replica announces itself with REPLCONF before PSYNC: delay that connection only.
    link.delay(replicaLagMs, { when: (head) => head.includes('REPLCONF') });
    return link.port;
  };
  const group = await startSentinelGroup({ masterAddress, replicas });
  try {
    const backend = { redis: { sentinels: group.sentinels, name: group.name } };
    return await underLoad(appsFor(stacks, backend, { rate, sessions, storeOptions }), {}, async (mark) => {
      mark('fault');
      const t0 = Date.now();
      await group.master.stop();
      mark('down');
      const ports = group.replicas.map((r) => r.port);
      // 'up': the last poll that still saw no promotion (a replica may accept writes from then on).
      let asked = performance.now();
      await waitFor('sentinel promotes a replica', async () => {
        const at = performance.now();
        if (ports.includes(await group.masterPort())) return true;
        asked = at;
        return false;
      }, 30_000);
      const promotedMs = Date.now() - t0;
      mark('up', asked);
      mark('heal');
      await sleep(afterMs);
      return { promotedMs, replicaLagMs, replicas };
    });
  } finally {
    await group.destroy();
    await link?.close();
  }
}

/** Memcached killed and started again after `downMs`: a cache, it comes back empty. */
export async function memcachedKill({ stacks, downMs = 3000, afterMs = 4000, rate = 200, sessions = 300, storeOptions } = {}) {
  const mc = await startMemcached();
  try {
    return await underLoad(appsFor(stacks, { memcached: mc.servers }, { rate, sessions, storeOptions }), {}, async (mark) => {
      mark('fault');
      await mc.stop();
      mark('down');
      await sleep(downMs);
      mark('up');
      await mc.restart();
      mark('heal');
      await sleep(afterMs);
    });
  } finally {
    await mc.destroy();
  }
}

/** A FerretDB of the scenario's own killed and started again (same data dir) after `downMs`, with KILL_TEST_SQLITE settings. */
export async function ferretRestart({ stacks, downMs = 3000, afterMs = 4000, rate = 60, sessions = 300, storeOptions } = {}) {
  const ferret = await startFerret({ sqliteQuery: KILL_TEST_SQLITE });
  try {
    // A database per app: FerretDB on SQLite serialises writes to one database,
    // and apps side by side would mostly measure each other.
    const apps = appsFor(stacks, { mongo: ferret.url }, { rate, sessions, storeOptions }).map((a, i) => ({ ...a, config: { db: `hsfault${i}`, ...a.config } }));
    return await underLoad(apps, {}, async (mark) => {
      mark('fault');
      await ferret.stop();
      mark('down');
      await sleep(downMs);
      mark('up');
      await ferret.start(); // resolves once it answers a ping, which may be after it serves
      mark('heal');
      await sleep(afterMs);
    });
  } finally {
    await ferret.destroy();
  }
}

/**
 * No fault: `durationMs` of fixed-rate load on `sessions` sessions, RSS
 * sampled every 200 ms. Figures: RSS right after `warmMs` (the peak of the
 * next 3 s) and at the end (the median of the last 3 s), and the slope of a
 * least-squares line through every sample after the warm-up.
 */
export async function soak({ stacks = [{ stack: 'uws', store: 'memory' }], durationMs = 25_000, warmMs = 8000, rate = 1000, sessions = 1000, readShare = 0.5 } = {}) {
  const out = await underLoad(appsFor(stacks, {}, { rate, sessions }), { warmMs: 0, readShare }, async (mark) => {
    mark('fault'); // the start of the measured window
    await sleep(durationMs);
  });
  for (const f of Object.values(out)) Object.assign(f, soakRss(f.samples, f.load.wallOf('fault') + warmMs));
  return out;
}

function soakRss(samples, warmEnd) {
  const mb = (b) => Math.round((b / 1048576) * 10) / 10;
  const after = samples.filter((s) => s.t >= warmEnd);
  if (after.length < 10) return { rssAfterWarmMB: null, rssEndMB: null, rssSlopeMBPerMin: null };
  const end = after.at(-1).t;
  const head = after.filter((s) => s.t < warmEnd + 3000).map((s) => s.rss);
  const tail = after.filter((s) => s.t > end - 3000).map((s) => s.rss).sort((a, b) => a - b);
  const n = after.length;
  const mx = after.reduce((a, s) => a + s.t, 0) / n;
  const my = after.reduce((a, s) => a + s.rss, 0) / n;
  let num = 0;
  let den = 0;
  for (const s of after) {
    num += (s.t - mx) * (s.rss - my);
    den += (s.t - mx) ** 2;
  }
  return {
    rssAfterWarmMB: mb(Math.max(...head)),
    rssEndMB: mb(tail[Math.floor(tail.length / 2)]),
    rssSlopeMBPerMin: den === 0 ? 0 : Math.round(((num / den) * 60_000 / 1048576) * 100) / 100,
    soakSamples: n,
  };
}
