// Real memcached processes for tests that need their own: one to stop,
// pause and restart (fault tests), two for multi-server tests. Each listens
// on a free loopback port, UDP off, and is killed by its handle.
import { spawn, spawnSync } from 'node:child_process';
import net from 'node:net';
import { REQUIRED } from './backends.mjs';
import { readdirSync, readFileSync } from 'node:fs';
import { freePort, waitFor } from './procs.mjs';

/**
 * `{ reason }` (pass as a suite's skip) when the memcached binary is missing
 * and not required; throws when HOTSESSION_REQUIRE_BACKENDS=1.
 */
export function memcachedBinary() {
  if (spawnSync('memcached', ['-V'], { stdio: 'ignore' }).status === 0) return undefined;
  const reason = 'memcached not installed (Debian package: memcached)';
  if (REQUIRED) throw new Error(`${reason}; HOTSESSION_REQUIRE_BACKENDS=1 requires it`);
  return { reason };
}

export { freePort } from './procs.mjs';

/** Sends one text-protocol command and resolves with the reply up to its END (or first line). */
export function textCommand(port, line, { timeout = 1000, until = /\r\n$/ } = {}) {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port });
    let out = '';
    s.setTimeout(timeout, () => { s.destroy(); reject(new Error(`memcached :${port} did not answer ${JSON.stringify(line)}`)); });
    s.on('connect', () => s.write(line + '\r\n'));
    s.on('data', (d) => {
      out += d;
      if (until.test(out)) {
        s.end();
        resolve(out);
      }
    });
    s.on('error', reject);
  });
}

/** `stats` of the server on `port`, as { name: string value }. */
export async function stats(port) {
  const out = await textCommand(port, 'stats', { until: /END\r\n$/ });
  const result = {};
  for (const m of out.matchAll(/^STAT (\S+) (.*)\r$/gm)) result[m[1]] = m[2];
  return result;
}

/**
 * Starts `memcached -p <port> -l 127.0.0.1 -U 0` (a free port when omitted).
 * Returns { port, servers, stop(signal), pause(), resume(), restart(), destroy() }.
 */
export async function startMemcached({ port, args = [] } = {}) {
  port ??= await freePort();
  let child = null;
  const launch = async () => {
    // memcached refuses to run as root unless told which user to become.
    const user = process.getuid?.() === 0 ? ['-u', 'nobody'] : [];
    child = spawn('memcached', ['-p', String(port), '-l', '127.0.0.1', '-U', '0', '-m', '64', ...user, ...args], { stdio: 'ignore' });
    child.exited = new Promise((resolve) => child.once('exit', resolve));
    const c = child;
    await waitFor(`memcached :${port}`, async () => {
      if (c.exitCode !== null || c.signalCode !== null) throw new Error(`memcached exited (${c.exitCode ?? c.signalCode})`);
      return (await textCommand(port, 'version')).startsWith('VERSION');
    });
  };
  await launch();
  const alive = () => child !== null && child.exitCode === null && child.signalCode === null;
  const handle = {
    port,
    servers: `127.0.0.1:${port}`,
    get pid() {
      return child?.pid;
    },
    /** Stops the server; SIGKILL (the default) is a crash: no goodbye to clients. */
    async stop(signal = 'SIGKILL') {
      if (!alive()) return;
      const c = child;
      c.kill('SIGCONT');
      c.kill(signal);
      await c.exited;
    },
    /**
     * Freezes the process: connections stay open, nothing answers (a hung
     * server). Resolves once every thread is stopped: kill() returns before a
     * worker running on the other core has stopped, and it could still answer.
     */
    async pause() {
      if (!alive()) return;
      child.kill('SIGSTOP');
      await waitFor(`memcached :${port} stopped`, () => stoppedThreads(child.pid), 5_000);
    },
    resume() {
      if (alive()) child.kill('SIGCONT');
    },
    /** Starts it again on the same port (stopping it first when it runs). */
    async restart() {
      await handle.stop();
      await launch();
    },
    async destroy() {
      await handle.stop();
    },
  };
  return handle;
}

/** True when every thread of `pid` is in the stopped state ('T' in /proc/<pid>/task/<tid>/stat). */
function stoppedThreads(pid) {
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    if (stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'T') return false;
  }
  return true;
}

/**
 * A TCP proxy to the memcached on `port` that loses every compare-and-swap
 * race on purpose: before it forwards a binary SET that carries a CAS, it
 * rewrites that item (same value, through a client of its own), so the
 * item's CAS has changed by the time the SET arrives. Everything else passes
 * through unchanged. Returns { servers, thefts(), close() }.
 */
export async function startCasThief(port) {
  const { default: memjs } = await import('memjs');
  const thief = memjs.Client.create(`127.0.0.1:${port}`, { retries: 0, logger: { log() {} } });
  let thefts = 0;
  const sockets = new Set();
  const server = net.createServer((client) => {
    const up = net.connect({ host: '127.0.0.1', port });
    sockets.add(client);
    sockets.add(up);
    up.on('data', (d) => client.write(d));
    const end = () => { client.destroy(); up.destroy(); };
    up.on('error', end);
    client.on('error', end);
    up.on('close', end);
    client.on('close', end);
    let buf = Buffer.alloc(0);
    let chain = Promise.resolve();
    client.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 24 && buf.length >= 24 + buf.readUInt32BE(8)) {
        const frame = buf.subarray(0, 24 + buf.readUInt32BE(8));
        buf = buf.subarray(frame.length);
        chain = chain.then(async () => {
          if (frame[1] === 0x01 && frame.readBigUInt64BE(16) !== 0n) {
            const extras = frame[4];
            const key = frame.subarray(24 + extras, 24 + extras + frame.readUInt16BE(2)).toString();
            const { value } = await thief.get(key);
            if (value !== null) {
              await thief.set(key, value, { expires: 60 });
              thefts++;
            }
          }
          up.write(frame);
        });
      }
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    servers: `127.0.0.1:${server.address().port}`,
    thefts: () => thefts,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
      thief.close();
    },
  };
}
