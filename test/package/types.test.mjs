// The published declarations, as a TypeScript user gets them: blank apps
// install the packed tarball, then compile consumers (CommonJS .cts/.ts and
// ESM .mts, module nodenext, strict, skipLibCheck off; the CommonJS one also
// with moduleResolution node10) and run them. One app
// has nothing but hotsession; the other also has uWebSockets.js and the
// drivers, linked from this repository's install (uWS is not on npm).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { blankApp, installOffline, linkFromRepo, removeApp } from '../helpers/blank-app.mjs';
import { cleanEnv, npmCli, packedTarball, ROOT, run } from '../helpers/pack.mjs';

const require = createRequire(import.meta.url);
const tsc = require.resolve('typescript/bin/tsc');
const TYPES = path.join(ROOT, 'test', 'types');

const unavailable = npmCli() === null ? 'npm CLI not found' : null;
if (unavailable && process.env.CI) throw new Error(`packed type tests cannot run: ${unavailable}`);

const COMPILER_OPTIONS = {
  module: 'nodenext',
  moduleResolution: 'nodenext',
  target: 'es2022',
  lib: ['es2022'],
  types: ['node'],
  strict: true,
  noUncheckedIndexedAccess: true,
  exactOptionalPropertyTypes: true,
  noImplicitOverride: true,
  skipLibCheck: false,
  rootDir: '.',
  outDir: 'out',
};

let tarball;
const apps = [];

before(() => {
  if (!unavailable) tarball = packedTarball();
});

after(() => {
  for (const dir of apps) removeApp(dir);
});

/** An app with the tarball (scripts off: the prebuild needs none), `links` from this repo, and `files` from test/types. */
function app(name, links, files) {
  const dir = blankApp(tarball, { name });
  apps.push(dir);
  const r = installOffline(dir, ['--ignore-scripts']);
  assert.equal(r.status, 0, r.out);
  linkFromRepo(dir, links);
  for (const f of files) fs.copyFileSync(path.join(TYPES, f), path.join(dir, f));
  compile(dir, 'tsconfig.json', COMPILER_OPTIONS, files);
  return dir;
}

function compile(dir, name, compilerOptions, files) {
  fs.writeFileSync(path.join(dir, name), JSON.stringify({ compilerOptions, files }, null, 2));
  const c = run(process.execPath, [tsc, '-p', name], { cwd: dir });
  assert.equal(c.status, 0, `tsc -p ${name} in ${path.basename(dir)}:\n${c.out}`);
}

function runOutput(dir, file) {
  const r = run(process.execPath, [path.join('out', file)], { cwd: dir, env: cleanEnv() });
  assert.equal(r.status, 0, r.out);
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

test('a strict app with nothing but hotsession (no uWebSockets.js, no driver) compiles as CJS and ESM and runs', { skip: unavailable ?? false }, () => {
  const dir = app('types-bare', ['@types/node'], ['bare.cts', 'bare.mts']);
  assert.equal(fs.existsSync(path.join(dir, 'node_modules', 'uWebSockets.js')), false);
  const cjs = runOutput(dir, 'bare.cjs');
  assert.deepEqual(cjs, { format: 'cjs', native: true, typed: [false, false], n: 1, store: 'object' });
  const esm = runOutput(dir, 'bare.mjs');
  assert.deepEqual(esm, { format: 'esm', native: true, user: 'ada' });
  // Older CommonJS setups (module commonjs, moduleResolution node10) ignore
  // "exports": the subpaths' types come from "typesVersions" there.
  compile(dir, 'tsconfig.node10.json', { ...COMPILER_OPTIONS, module: 'commonjs', moduleResolution: 'node10', outDir: 'out-node10' }, ['bare.cts']);
});

test('a strict app with uWebSockets.js and every driver compiles, the adapter typed with uWS\'s own types', { skip: unavailable ?? false }, () => {
  app('types-full', ['@types/node', '@types/memjs', 'uWebSockets.js', 'ioredis', 'memjs', 'mongodb'], ['consumer.ts', 'uws-app.mts', 'bare.cts', 'bare.mts']);
});
