// The load side of fault scenarios, shared by test/integration/faults-*.test.mjs
// and bench/faults.mjs: the app under test in a child process of its own
// (fault-app.mjs), a fixed-rate load loop over keep-alive sockets, and the
// figures a scenario reports (latency, answers by status, acknowledged and
// lost writes, recovery time, RSS).
//
// The loop is open: requests leave on a fixed schedule (`rate` per second)
// whatever the server does, so a stall shows as latency and errors instead of
// slowing the load down. Each session has at most one request in flight, so
// its counter only moves forward: a 200 to /write carrying n means the store
// acknowledged n, and any later read of that session below n is a lost
// acknowledged write.
import { fork } from 'node:child_process';
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';

const appFile = fileURLToPath(new URL('./fault-app.mjs', import.meta.url));

/**
 * Forks fault-app.mjs with `config` (see that file). Resolves once it
 * listens. The handle keeps every sample the app sends and notices a crash.
 */
export function startApp(config, { timeoutMs = 20_000 } = {}) {
  const child = fork(appFile, [], {
    env: { ...process.env, HS_FAULT_APP: JSON.stringify(config) },
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d) => { stderr = (stderr + d).slice(-4000); });
  const samples = [];
  let stopping = false;
  let exit = null;
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => { exit = { code, signal }; resolve(exit); }));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`fault app did not listen within ${timeoutMs} ms: ${stderr}`)); }, timeoutMs);
    exited.then((e) => { clearTimeout(timer); reject(new Error(`fault app exited (${e.signal ?? e.code}) before listening: ${stderr}`)); });
    child.on('message', (msg) => {
      if (msg.type === 'sample') samples.push(msg);
      if (msg.type !== 'ready') return;
      clearTimeout(timer);
      resolve({
        port: msg.port,
        pid: msg.pid,
        url: `http://127.0.0.1:${msg.port}`,
        samples,
        /** The exit ({ code, signal }) if the app ended without being asked to: a crash. */
        get crashed() {
          return !stopping && exit !== null ? exit : null;
        },
        stderr: () => stderr.trim(),
        /** The latest sample, asked for now. */
        sample() {
          return new Promise((res) => {
            const n = samples.length;
            child.send({ type: 'sample' });
            const poll = setInterval(() => { if (samples.length > n || exit) { clearInterval(poll); res(samples.at(-1)); } }, 5);
          });
        },
        async stop() {
          stopping = true;
          if (exit !== null) return exit;
          child.send({ type: 'stop' });
          const kill = setTimeout(() => child.kill('SIGKILL'), 3000);
          await exited;
          clearTimeout(kill);
          return exit;
        },
      });
    });
  });
}

const LOGIN = 0;
const WRITE = 1;
const READ = 2;

/** One GET over `agent`: resolves { status, body, setCookie, ms }; status 0 when no answer came. */
function get(agent, url, path, cookie, timeoutMs) {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const done = (status, body, setCookie, error) => resolve({ status, body, setCookie, ms: performance.now() - t0, error });
    const req = http.request(url + path, { agent, headers: cookie ? { cookie } : {} }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { body += d; });
      res.on('end', () => done(res.statusCode, body, res.headers['set-cookie']));
      res.on('error', (err) => done(0, '', undefined, err.message));
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (err) => done(0, '', undefined, err.message));
    req.end();
  });
}

/** The Cookie header for a response's Set-Cookie values (name=value pairs only). */
function cookieOf(setCookie, previous) {
  if (!setCookie || setCookie.length === 0) return previous;
  const jar = new Map((previous ?? '').split('; ').filter(Boolean).map((p) => [p.slice(0, p.indexOf('=')), p]));
  for (const line of setCookie) {
    const pair = line.slice(0, line.indexOf(';') === -1 ? line.length : line.indexOf(';'));
    jar.set(pair.slice(0, pair.indexOf('=')), pair);
  }
  return [...jar.values()].join('; ');
}

/**
 * Fixed-rate load on `sessions` sessions of the app at `url`.
 *
 *   const load = new Load({ url, rate: 200, sessions: 300 });
 *   await load.login(); load.start();
 *   ... load.mark('fault') ... load.mark('heal') ...
 *   await load.stop(); await load.verify();
 *   load.figures({ from: 'heal' })
 */
export class Load {
  #url;
  #rate;
  #timeoutMs;
  #readShare;
  #loginShare;
  #agent;
  #slots;
  #idle = [];
  #timer = null;
  #t0 = 0;
  #wall0 = 0;
  #issued = 0;
  #inflight = new Set();
  /** Per request: issue time (ms since start), latency, status (0: no answer), kind. */
  issuedAt = [];
  latency = [];
  status = [];
  kind = [];
  /** Named instants, ms since start. */
  marks = {};
  skipped = 0;
  lostAcked = 0;
  /** Of lostAcked, those a session still present no longer showed (a stale value, not a vanished session). */
  staleAcked = 0;
  sessionsLost = 0;
  unverified = 0;
  noAnswerReasons = {};

  /**
   * @param {{ url: string, rate: number, sessions: number, readShare?: number, loginShare?: number, timeoutMs?: number }} o
   *   readShare: fraction of requests that only read (default 0: every request writes);
   *   loginShare: fraction that are a new visitor's first request (no cookie: a
   *   new session saved with no load before it), which takes over the slot
   */
  constructor({ url, rate, sessions, readShare = 0, loginShare = 0, timeoutMs = 20_000 }) {
    this.#url = url;
    this.#rate = rate;
    this.#timeoutMs = timeoutMs;
    this.#readShare = readShare;
    this.#loginShare = loginShare;
    this.#agent = new http.Agent({ keepAlive: true, maxSockets: sessions });
    this.#slots = Array.from({ length: sessions }, (_, i) => ({ cookie: undefined, acked: [] }));
  }

  /** Logs every session in (before the clock starts); throws if some cannot. */
  async login(concurrency = 32) {
    let next = 0;
    const worker = async () => {
      while (next < this.#slots.length) {
        const slot = this.#slots[next++];
        for (let attempt = 0; slot.cookie === undefined; attempt++) {
          const r = await get(this.#agent, this.#url, '/login', undefined, this.#timeoutMs);
          if (r.status === 200) slot.cookie = cookieOf(r.setCookie, undefined);
          else if (attempt === 5) throw new Error(`login failed: ${r.status} ${r.error ?? r.body}`);
          else await sleep(100);
        }
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    this.#idle = [...this.#slots];
  }

  /** Starts the clock and the schedule. */
  start() {
    this.#t0 = performance.now();
    this.#wall0 = Date.now();
    this.#timer = setInterval(() => this.#tick(), 5);
  }

  /** ms since start. */
  now() {
    return performance.now() - this.#t0;
  }

  /** Records the instant `name` (fault start, heal...): now, or the performance.now() time `at`. */
  mark(name, at = performance.now()) {
    this.marks[name] = at - this.#t0;
    return this.marks[name];
  }

  /** The Date.now() value of a mark (app samples carry Date.now() times). */
  wallOf(name) {
    return this.#wall0 + (this.marks[name] ?? NaN);
  }

  #tick() {
    const due = Math.floor((this.now() * this.#rate) / 1000);
    while (this.#issued < due) {
      this.#issued++;
      const slot = this.#idle.shift();
      if (slot === undefined) {
        // Every session has a request in flight: the schedule could not be kept.
        this.skipped++;
        continue;
      }
      this.#send(slot);
    }
  }

  #send(slot) {
    const r0 = Math.random();
    const kind = slot.cookie === undefined || r0 < this.#loginShare ? LOGIN : r0 < this.#loginShare + this.#readShare ? READ : WRITE;
    const path = kind === LOGIN ? '/login' : kind === READ ? '/read' : '/write';
    const issued = this.now();
    const p = get(this.#agent, this.#url, path, kind === LOGIN ? undefined : slot.cookie, this.#timeoutMs).then((r) => {
      this.#inflight.delete(p);
      this.issuedAt.push(issued);
      this.latency.push(r.ms);
      this.status.push(r.status);
      this.kind.push(kind);
      if (r.status === 0) this.noAnswerReasons[r.error] = (this.noAnswerReasons[r.error] ?? 0) + 1;
      this.#observe(slot, kind, r);
      if (this.#timer !== null) this.#idle.push(slot);
    });
    this.#inflight.add(p);
  }

  #observe(slot, kind, r) {
    if (kind === LOGIN) {
      // A new session acknowledged with n = 0 (the slot's previous one is left alone).
      if (r.status === 200) {
        slot.cookie = cookieOf(r.setCookie, undefined);
        slot.acked = [0];
      }
      return;
    }
    if (r.status === 401) {
      // The store no longer has this session: every write it acknowledged is gone.
      this.sessionsLost++;
      this.#lose(slot, 0);
      slot.cookie = undefined;
      return;
    }
    if (r.status !== 200) return;
    const n = Number(r.body);
    slot.cookie = cookieOf(r.setCookie, slot.cookie);
    // A write answered n read n - 1; a read answered n read n.
    this.#lose(slot, kind === WRITE ? n - 1 : n, true);
    if (kind === WRITE) slot.acked.push(n);
  }

  /** Counts (and forgets) the acknowledged values of `slot` above `seen`; `stale`: the session itself was there. */
  #lose(slot, seen, stale = false) {
    const kept = slot.acked.filter((v) => v <= seen);
    const lost = slot.acked.length - kept.length;
    this.lostAcked += lost;
    if (stale) this.staleAcked += lost;
    slot.acked = kept;
  }

  /** Stops issuing and waits for every request in flight. */
  async stop() {
    clearInterval(this.#timer);
    this.#timer = null;
    this.marks.stop = this.now();
    await Promise.all(this.#inflight);
  }

  /**
   * Reads every session back once the store is healthy again: acknowledged
   * values a read no longer shows count in lostAcked. Retries a session whose
   * read fails (the store may still be recovering) for up to `ms`.
   */
  async verify(ms = 10_000, concurrency = 16) {
    const until = Date.now() + ms;
    const slots = this.#slots.filter((s) => s.cookie !== undefined);
    let next = 0;
    const worker = async () => {
      while (next < slots.length) {
        const slot = slots[next++];
        for (;;) {
          const r = await get(this.#agent, this.#url, '/read', slot.cookie, this.#timeoutMs);
          if (r.status === 200 || r.status === 401) {
            if (r.status === 401) this.sessionsLost++;
            this.#lose(slot, r.status === 200 ? Number(r.body) : 0, r.status === 200);
            break;
          }
          if (Date.now() > until) {
            this.unverified++;
            break;
          }
          await sleep(100);
        }
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
  }

  close() {
    this.#agent.destroy();
  }

  /**
   * The scenario's figures. `heal` names the mark from which recovery is
   * measured; `graceMs` is how long after it failures are still expected.
   */
  figures({ heal = 'heal', graceMs = 2000, fault = 'fault' } = {}) {
    const n = this.status.length;
    const byStatus = {};
    let maxMs = 0;
    let acked = 0;
    let recoveryMs = null;
    let failuresAfterGrace = 0;
    let firstFailure = null;
    let lastFailure = null;
    const healAt = this.marks[heal];
    for (let i = 0; i < n; i++) {
      const s = this.status[i];
      byStatus[s] = (byStatus[s] ?? 0) + 1;
      if (this.latency[i] > maxMs) maxMs = this.latency[i];
      const ok = s === 200;
      if (ok && this.kind[i] !== READ) acked++;
      const issued = this.issuedAt[i];
      if (!ok && s !== 401) {
        firstFailure = firstFailure === null ? issued : Math.min(firstFailure, issued);
        lastFailure = lastFailure === null ? issued + this.latency[i] : Math.max(lastFailure, issued + this.latency[i]);
      }
      if (healAt !== undefined && issued >= healAt) {
        // A 401 is the store answering too (the session is gone): recovered.
        if (ok || s === 401) {
          const answered = issued + this.latency[i] - healAt;
          if (recoveryMs === null || answered < recoveryMs) recoveryMs = answered;
        } else if (issued >= healAt + graceMs && s !== 401) {
          failuresAfterGrace++;
        }
      }
    }
    const sorted = Float64Array.from(this.latency).sort();
    const pct = (p) => (n === 0 ? 0 : sorted[Math.min(n - 1, Math.floor(p * n))]);
    return {
      requests: n,
      byStatus,
      noAnswer: byStatus[0] ?? 0,
      skipped: this.skipped,
      maxMs: round(maxMs),
      p50Ms: round(pct(0.5)),
      p99Ms: round(pct(0.99)),
      acked,
      lostAcked: this.lostAcked,
      staleAcked: this.staleAcked,
      sessionsLost: this.sessionsLost,
      unverified: this.unverified,
      recoveryMs: recoveryMs === null ? null : round(recoveryMs),
      failuresAfterGrace,
      // From the first failed request's issue to the last failed answer.
      unavailableMs: firstFailure === null ? 0 : round(lastFailure - firstFailure),
      faultAt: this.marks[fault] === undefined ? null : round(this.marks[fault]),
    };
  }

  /** Requests issued in [from, to) ms, with their status and latency (for scenario-specific checks). */
  requestsBetween(from, to = Infinity) {
    const out = [];
    for (let i = 0; i < this.status.length; i++) {
      const t = this.issuedAt[i];
      if (t >= from && t < to) out.push({ issued: t, ms: this.latency[i], status: this.status[i], kind: ['login', 'write', 'read'][this.kind[i]] });
    }
    return out;
  }
}

function round(x) {
  return Math.round(x * 10) / 10;
}

/**
 * RSS figures of an app between two instants (Date.now() values): the median
 * before `from` (baseline), the peak from `from` on, and the growth.
 */
export function rssFigures(samples, from, to = Infinity) {
  const before = samples.filter((s) => s.t < from).map((s) => s.rss).sort((a, b) => a - b);
  const during = samples.filter((s) => s.t >= from && s.t <= to);
  const baseline = before.length > 0 ? before[Math.floor(before.length / 2)] : samples[0]?.rss ?? 0;
  const peak = Math.max(baseline, ...during.map((s) => s.rss));
  const mb = (b) => Math.round((b / 1048576) * 10) / 10;
  return { rssBaselineMB: mb(baseline), rssPeakMB: mb(peak), rssGrowthMB: mb(peak - baseline) };
}

/** Largest `pending` and `driver` values the app reported between two instants (null when never reported). */
export function queueFigures(samples, from = 0, to = Infinity) {
  let pending = null;
  let driver = null;
  for (const s of samples) {
    if (s.t < from || s.t > to) continue;
    if (s.pending !== null) pending = Math.max(pending ?? 0, s.pending);
    if (s.driver !== null) driver = Math.max(driver ?? 0, s.driver);
  }
  return { maxPending: pending, maxDriverQueue: driver };
}

/** Session errors the app saw (by "code status"), from its last sample. */
export function errorFigures(samples) {
  return samples.at(-1)?.errors ?? {};
}
