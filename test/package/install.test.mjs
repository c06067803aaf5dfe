// Installing the packed tarball into a blank app, as a user does, offline:
// the prebuild inside the tarball gives the native codec without a compiler
// and without install scripts; when no prebuild fits, the install hook tries
// to compile, never fails the install, and the JS fallback says how to fix it.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { blankApp, installOffline, removeApp } from '../helpers/blank-app.mjs';
import { cleanEnv, npmCli, packedTarball, run } from '../helpers/pack.mjs';

const COMPILERS = ['cc', 'gcc', 'g++', 'c++', 'clang', 'clang++', 'make', 'gmake', 'python', 'python3'];

function onPath(cmd) {
  return (process.env.PATH ?? '').split(path.delimiter).some((d) => d && fs.existsSync(path.join(d, cmd)));
}

// Only what cannot be had here skips (never in CI, where it fails instead).
const unavailable = npmCli() === null ? 'npm CLI not found' : !onPath('tar') ? 'tar not found' : process.platform !== 'linux' ? 'the no-compiler PATH is built for Linux' : null;
if (unavailable && process.env.CI) throw new Error(`install tests cannot run: ${unavailable}`);

let tarball;
let scratch;
/** A PATH with node and sh and, ahead of them, compiler shims that log their use and fail. */
let noCompilerPath;
let shimLog;
const apps = [];

before(() => {
  if (unavailable) return;
  tarball = packedTarball();
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'hotsession-install-'));
  const bin = path.join(scratch, 'bin');
  const shims = path.join(scratch, 'shims');
  fs.mkdirSync(bin);
  fs.mkdirSync(shims);
  fs.symlinkSync(process.execPath, path.join(bin, 'node'));
  fs.symlinkSync('/bin/sh', path.join(bin, 'sh'));
  shimLog = path.join(scratch, 'compilers.log');
  for (const c of COMPILERS) {
    fs.writeFileSync(path.join(shims, c), `#!/bin/sh\necho "${c} $*" >> '${shimLog}'\nexit 127\n`, { mode: 0o755 });
  }
  noCompilerPath = [shims, bin].join(path.delimiter);
});

after(() => {
  for (const dir of apps) removeApp(dir);
  if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
});

function compilerCalls() {
  return fs.existsSync(shimLog) ? fs.readFileSync(shimLog, 'utf8').trim().split('\n').filter(Boolean) : [];
}

/** A fresh app with the tarball installed by `npm ci --offline` (+ args) under env. */
function install(args, env) {
  const dir = blankApp(tarball);
  apps.push(dir);
  fs.rmSync(shimLog, { force: true });
  const r = installOffline(dir, args, env);
  assert.equal(r.status, 0, `npm ci failed:\n${r.out}`);
  return { dir, out: r.out };
}

const PROBE = `
const path = require('node:path');
const hs = require('hotsession');
let addon = null;
try { addon = require('node-gyp-build').path(path.dirname(require.resolve('hotsession/package.json'))); } catch {}
console.log(JSON.stringify({ native: hs.isNativeEnabled(), addon }));
`;

/** What the app sees at run time: { native, addon (path node-gyp-build picks), stderr }. */
function probe(dir, env) {
  const r = run(process.execPath, ['-e', PROBE], { cwd: dir, env });
  assert.equal(r.status, 0, r.out);
  return { ...JSON.parse(r.stdout.trim().split('\n').pop()), stderr: r.stderr };
}

describe('install from the packed tarball', { skip: unavailable ?? false }, () => {
  test('with no compiler on PATH the install runs its hook, compiles nothing and gets the native codec', () => {
    const env = cleanEnv({ PATH: noCompilerPath });
    delete env.CC;
    delete env.CXX;
    const { dir, out } = install([], env);
    assert.match(out, /> hotsession@[^ ]+ install\n> node scripts\/install-native\.js/, 'the install hook ran');
    assert.deepEqual(compilerCalls(), [], 'no compiler was invoked');
    assert.equal(fs.existsSync(path.join(dir, 'node_modules', 'hotsession', 'build')), false, 'nothing was built');
    const seen = probe(dir, env);
    assert.equal(seen.native, true, seen.stderr);
    assert.ok(seen.addon.includes(`${path.sep}prebuilds${path.sep}`), seen.addon);
    assert.doesNotMatch(seen.stderr, /HOTSESSION_NATIVE_UNAVAILABLE|native addon not loaded/);
  });

  test('with --ignore-scripts the prebuild still gives the native codec', () => {
    const env = cleanEnv({ PATH: noCompilerPath });
    const { dir, out } = install(['--ignore-scripts'], env);
    assert.doesNotMatch(out, /> hotsession@[^ ]+ install/);
    const seen = probe(dir, env);
    assert.equal(seen.native, true, seen.stderr);
    assert.ok(seen.addon.includes(`${path.sep}prebuilds${path.sep}`), seen.addon);
  });

  // node-gyp-build reads LIBC: claiming musl makes the glibc prebuild not fit,
  // which is what an Alpine machine sees.
  test('when no prebuild fits and nothing can compile, the install succeeds and the fallback says how to fix and silence it', () => {
    const env = cleanEnv({ PATH: noCompilerPath, LIBC: 'musl' });
    const { dir, out } = install([], env);
    assert.match(out, /hotsession: no prebuild loads here \(No native build was found[^\n]*\) and the native addon did not build/);
    assert.ok(compilerCalls().length > 0, 'the hook tried to compile');
    const seen = probe(dir, env);
    assert.equal(seen.native, false);
    assert.match(seen.stderr, /HOTSESSION_NATIVE_UNAVAILABLE|native addon not loaded/);
    assert.match(seen.stderr, /npm rebuild hotsession/);
    assert.match(seen.stderr, /HOTSESSION_NO_NATIVE=1/);
    const quiet = probe(dir, { ...env, HOTSESSION_NO_NATIVE: '1' });
    assert.equal(quiet.native, false);
    assert.doesNotMatch(quiet.stderr, /native addon/);
    // The same install on glibc still has its prebuild.
    assert.equal(probe(dir, cleanEnv({ PATH: noCompilerPath })).native, true);
  });

  const toolchain = ['make', 'g++', 'python3'].filter((c) => !onPath(c));
  const noToolchain = toolchain.length > 0 ? `no ${toolchain.join(', ')} on PATH` : false;
  if (noToolchain && process.env.CI) throw new Error(`the compile-on-install test needs a toolchain: ${noToolchain}`);
  test('when no prebuild fits and a toolchain is there, the install compiles the addon', { skip: noToolchain }, () => {
    const env = cleanEnv({ LIBC: 'musl' });
    const { dir, out } = install([], env);
    assert.match(out, /hotsession: native addon built/);
    const seen = probe(dir, env);
    assert.equal(seen.native, true, seen.stderr);
    assert.ok(seen.addon.includes(`${path.sep}build${path.sep}Release${path.sep}`), seen.addon);
  });
});
