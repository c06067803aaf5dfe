// The package as users get it: `npm pack` of this checkout (prepack builds the
// prebuild, prepare compiles dist/), made in a staging copy so that the
// prebuild's `node-gyp rebuild` never touches this checkout's build/ while
// other tests load it. One tarball per source state, cached under the OS temp
// dir and shared by every test file and both codec runs.
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const PKG = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));

/** What `npm pack` reads: everything that can change the tarball. */
const INPUTS = ['package.json', 'tsconfig.json', 'binding.gyp', 'README.md', 'LICENSE', 'scripts', 'src', 'native/src'];

function files(rel) {
  const abs = path.join(ROOT, rel);
  if (!fs.existsSync(abs)) return [];
  if (!fs.statSync(abs).isDirectory()) return [rel];
  return fs.readdirSync(abs).sort().flatMap((name) => files(path.join(rel, name)));
}

function inputHash() {
  const h = createHash('sha256');
  for (const f of INPUTS.flatMap(files)) h.update(f).update('\0').update(fs.readFileSync(path.join(ROOT, f))).update('\0');
  return h.update(process.version).digest('hex').slice(0, 16);
}

/** npm's CLI, run with this node: the one on PATH, or the one npm started us with. */
export function npmCli() {
  const candidates = [process.env.npm_execpath];
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (dir) candidates.push(path.join(dir, 'npm'));
  }
  candidates.push(path.join(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'bin', 'npm-cli.js'));
  for (const c of candidates) {
    if (!c || !fs.existsSync(c)) continue;
    const real = fs.realpathSync(c);
    if (real.endsWith('.js')) return real;
  }
  return null;
}

/** The environment without what an enclosing `npm test` exported (npm_config_*, npm_package_*...). */
export function cleanEnv(extra = {}) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^npm_/i.test(k) && k !== 'HOTSESSION_NO_NATIVE' && k !== 'NODE_TEST_CONTEXT') env[k] = v;
  return { ...env, ...extra };
}

export function run(cmd, args, opts) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20, ...opts });
  return { status: r.status, out: `${r.stdout ?? ''}${r.stderr ?? ''}`, stdout: r.stdout ?? '', stderr: r.stderr ?? '', error: r.error };
}

function sleep(ms) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Holds a directory lock while `fn` runs (another test process may be packing the same tree). */
function locked(lock, fn) {
  for (let waited = 0; ; waited += 200) {
    try {
      fs.mkdirSync(lock);
      break;
    } catch (err) {
      if (err.code !== 'EEXIST') throw err;
      // A packer that died leaves its lock behind; a pack takes well under a minute.
      if (Date.now() - fs.statSync(lock, { throwIfNoEntry: false })?.mtimeMs > 300_000) fs.rmSync(lock, { recursive: true, force: true });
      if (waited > 600_000) throw new Error(`gave up waiting for ${lock}`);
      sleep(200);
    }
  }
  try {
    return fn();
  } finally {
    fs.rmSync(lock, { recursive: true, force: true });
  }
}

/**
 * Path of the tarball `npm pack` makes of this checkout, building it once per
 * source state. Throws with npm's output when packing fails.
 */
export function packedTarball() {
  const npm = npmCli();
  if (npm === null) throw new Error('npm not found (neither npm_execpath nor npm on PATH)');
  // Per checkout: engineers sharing a machine each keep their own cache.
  const base = path.join(os.tmpdir(), 'hotsession-pack', createHash('sha256').update(ROOT).digest('hex').slice(0, 12));
  const dir = path.join(base, inputHash());
  const tarball = path.join(dir, `${PKG.name}-${PKG.version}.tgz`);
  if (fs.existsSync(tarball)) return tarball;
  fs.mkdirSync(base, { recursive: true });
  return locked(`${dir}.lock`, () => {
    if (fs.existsSync(tarball)) return tarball;
    for (const old of fs.readdirSync(base)) if (!old.endsWith('.lock')) fs.rmSync(path.join(base, old), { recursive: true, force: true });
    const stage = fs.mkdtempSync(path.join(os.tmpdir(), 'hotsession-stage-'));
    try {
      for (const rel of INPUTS) {
        if (fs.existsSync(path.join(ROOT, rel))) fs.cpSync(path.join(ROOT, rel), path.join(stage, rel), { recursive: true });
      }
      fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(stage, 'node_modules'), 'dir');
      const out = path.join(stage, 'out');
      fs.mkdirSync(out);
      const r = run(process.execPath, [npm, 'pack', '--pack-destination', out, '--no-audit', '--no-fund'], { cwd: stage, env: cleanEnv() });
      const made = path.join(out, path.basename(tarball));
      if (r.status !== 0 || !fs.existsSync(made)) throw new Error(`npm pack failed (exit ${r.status}):\n${r.out}`);
      fs.mkdirSync(dir, { recursive: true });
      fs.copyFileSync(made, tarball);
      return tarball;
    } finally {
      fs.rmSync(stage, { recursive: true, force: true });
    }
  });
}

/** The tarball's file list, package/ prefix removed, sorted. */
export function tarballFiles(tarball) {
  const r = run('tar', ['-tzf', tarball]);
  if (r.status !== 0) throw new Error(`tar -tzf failed: ${r.out}`);
  return r.stdout.split('\n').filter((l) => l && !l.endsWith('/')).map((l) => l.replace(/^package\//, '')).sort();
}
