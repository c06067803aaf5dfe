// Starting and stopping one bench server (bench/servers/*.mjs) in its own
// process. Handshake: the child prints one JSON line, {"port":N} once it
// listens or {"skip":"reason"} when its scenario cannot run here.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { peakRss } from './proc.mjs';

const dir = fileURLToPath(new URL('../servers/', import.meta.url));

/**
 * @param {string} file server file under bench/servers
 * @param {Record<string,string>} env extra environment (HS_STORE, HS_RUN_ID...)
 * @returns {Promise<{ skip: string } | { port: number, pid: number, peakRss: () => number|null, stop: () => Promise<void>, stderr: () => string }>}
 */
export function startServer(file, env, timeoutMs = 20_000) {
  const child = spawn(process.execPath, [dir + file], {
    env: { ...process.env, PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d) => { err = (err + d).slice(-4000); });
  const stderr = () => err.trim();
  return new Promise((resolve, reject) => {
    let out = '';
    let settled = false;
    const timer = setTimeout(() => fail(new Error(`${file} did not report a port within ${timeoutMs} ms`)), timeoutMs);
    function fail(e) {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.kill('SIGKILL');
      const tail = stderr();
      reject(new Error(tail ? `${e.message}\n${tail}` : e.message));
    }
    child.once('error', fail);
    child.once('exit', (code, signal) => fail(new Error(`${file} exited (${signal ?? code}) before listening`)));
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d) => {
      if (settled) return;
      out += d;
      const nl = out.indexOf('\n');
      if (nl === -1) return;
      let msg;
      try {
        msg = JSON.parse(out.slice(0, nl));
      } catch {
        return fail(new Error(`${file} printed ${JSON.stringify(out.slice(0, 200))} instead of its port`));
      }
      settled = true;
      clearTimeout(timer);
      if (msg.skip !== undefined) {
        child.kill('SIGKILL');
        return resolve({ skip: msg.skip });
      }
      const pid = child.pid;
      resolve({
        port: msg.port,
        pid,
        stderr,
        peakRss: () => peakRss(pid),
        stop: () => stop(child),
      });
    });
  });
}

function stop(child) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), 3000);
    child.once('exit', () => { clearTimeout(kill); resolve(); });
    child.kill('SIGTERM');
  });
}
