// A blank application that installs the packed tarball the way a user does,
// offline: its package-lock.json is written from this repository's lock (the
// same pinned versions and integrity hashes), so `npm ci --offline` takes
// every dependency from the npm cache that this repository's own install
// filled, and never asks a registry for anything.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cleanEnv, npmCli, PKG, ROOT, run } from './pack.mjs';

const LOCK = JSON.parse(fs.readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8'));
const FLAGS = new Set(['dev', 'devOptional', 'optional', 'peer', 'extraneous', 'inBundle']);

/** Where node would find `name` from the package at `from` ('' for the root) in this repository's tree. */
function locate(name, from) {
  for (let dir = from; ; ) {
    const p = dir ? `${dir}/node_modules/${name}` : `node_modules/${name}`;
    if (LOCK.packages[p]) return p;
    if (!dir) return null;
    const i = dir.lastIndexOf('/node_modules/');
    dir = i === -1 ? '' : dir.slice(0, i);
  }
}

/** Lock entries for `deps` and everything they need, from this repository's lock. */
function closure(deps) {
  const out = {};
  const required = new Set();
  const queue = Object.keys(deps).map((name) => ({ name, from: '', optional: false }));
  while (queue.length > 0) {
    const { name, from, optional } = queue.shift();
    const at = locate(name, from);
    if (at === null) {
      if (optional) continue;
      throw new Error(`${name} (needed by ${from || 'hotsession'}) is not in package-lock.json`);
    }
    if (!optional) required.add(at);
    if (out[at]) {
      if (optional || !out[at].optional) continue;
    }
    const entry = Object.fromEntries(Object.entries(LOCK.packages[at]).filter(([k]) => !FLAGS.has(k)));
    out[at] = entry;
    for (const [dep, kind] of [...Object.keys(entry.dependencies ?? {}).map((d) => [d, false]), ...Object.keys(entry.optionalDependencies ?? {}).map((d) => [d, true])]) {
      queue.push({ name: dep, from: at, optional: optional || kind });
    }
  }
  for (const [at, entry] of Object.entries(out)) if (!required.has(at)) entry.optional = true;
  return out;
}

/**
 * Makes an empty app in a new temp dir whose only dependency is the tarball
 * (copied in, so the app stands alone), with the lock that installs it offline.
 * `links` are extra packages (name -> absolute dir) symlinked into its
 * node_modules after the install: type definitions and optional peers taken
 * from this repository's install (uWebSockets.js is not on npm).
 */
export function blankApp(tarball, { type = 'commonjs', name = 'blank-app' } = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `hotsession-${name}-`));
  fs.copyFileSync(tarball, path.join(dir, 'hotsession.tgz'));
  const integrity = `sha512-${createHash('sha512').update(fs.readFileSync(tarball)).digest('base64')}`;
  const dependencies = { hotsession: 'file:hotsession.tgz' };
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name, version: '1.0.0', private: true, type, dependencies }, null, 2));
  const self = {
    version: PKG.version, resolved: 'file:hotsession.tgz', integrity, hasInstallScript: true, license: PKG.license,
    dependencies: PKG.dependencies, engines: PKG.engines, peerDependencies: PKG.peerDependencies, peerDependenciesMeta: PKG.peerDependenciesMeta,
  };
  const lock = {
    name, version: '1.0.0', lockfileVersion: 3, requires: true,
    packages: { '': { name, version: '1.0.0', dependencies }, 'node_modules/hotsession': self, ...closure(PKG.dependencies) },
  };
  fs.writeFileSync(path.join(dir, 'package-lock.json'), JSON.stringify(lock, null, 2));
  return dir;
}

/**
 * `npm ci --offline` in the app; returns { status, out }. Outside CI, a
 * machine whose npm cache lacks one of the pinned tarballs retries with
 * --prefer-offline (the registry fills in only what is missing).
 */
export function installOffline(dir, args = [], env = cleanEnv()) {
  const npm = npmCli();
  if (npm === null) throw new Error('npm not found');
  const ci = (mode) => run(process.execPath, [npm, 'ci', mode, '--no-audit', '--no-fund', '--foreground-scripts', ...args], { cwd: dir, env });
  const r = ci('--offline');
  return r.status !== 0 && /ENOTCACHED/.test(r.out) && !process.env.CI ? ci('--prefer-offline') : r;
}

/** Symlinks packages of this repository's node_modules into the app's (types, optional peers). */
export function linkFromRepo(dir, names) {
  for (const n of names) {
    const target = path.join(ROOT, 'node_modules', n);
    if (!fs.existsSync(target)) throw new Error(`${n} is not installed in this repository`);
    const at = path.join(dir, 'node_modules', n);
    fs.mkdirSync(path.dirname(at), { recursive: true });
    fs.symlinkSync(target, at, 'dir');
  }
}

export function removeApp(dir) {
  fs.rmSync(dir, { recursive: true, force: true });
}
