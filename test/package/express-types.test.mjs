// hotsession/express's declarations as a TypeScript user gets them (#16 item 4):
// a blank app installs the packed tarball, links Express's types from this
// repository, and compiles a strict Express app (module nodenext, strict,
// exactOptionalPropertyTypes, skipLibCheck off) that augments SessionData and
// expects a misspelled session key to be a compile error (`@ts-expect-error`:
// if the key were accepted, the compile would fail). Once without
// @types/express-session, once with it.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { blankApp, installOffline, linkFromRepo, removeApp } from '../helpers/blank-app.mjs';
import { npmCli, packedTarball, ROOT, run } from '../helpers/pack.mjs';

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
  noEmit: true,
};

const EXPRESS_TYPES = [
  '@types/node', '@types/express', '@types/express-serve-static-core', '@types/body-parser', '@types/serve-static',
  '@types/connect', '@types/qs', '@types/range-parser', '@types/send', '@types/http-errors',
];

let dir;

before(() => {
  if (unavailable) return;
  dir = blankApp(packedTarball(), { name: 'types-express' });
  const r = installOffline(dir, ['--ignore-scripts']);
  assert.equal(r.status, 0, r.out);
  linkFromRepo(dir, EXPRESS_TYPES);
});

after(() => {
  if (dir) removeApp(dir);
});

function compile(file) {
  fs.copyFileSync(path.join(TYPES, file), path.join(dir, file));
  const name = `tsconfig.${path.basename(file, '.ts')}.json`;
  fs.writeFileSync(path.join(dir, name), JSON.stringify({ compilerOptions: COMPILER_OPTIONS, files: [file] }, null, 2));
  const c = run(process.execPath, [tsc, '-p', name], { cwd: dir });
  assert.equal(c.status, 0, `tsc -p ${name}:\n${c.out}`);
}

test('a strict Express app types req.session through hotsession/express\'s SessionData and refuses a misspelled key', { skip: unavailable ?? false }, () => {
  assert.equal(fs.existsSync(path.join(dir, 'node_modules', '@types', 'express-session')), false);
  compile('express-app.ts');
});

test('with @types/express-session installed: its SessionData types req.session, and its stores are accepted as they are', { skip: unavailable ?? false }, () => {
  linkFromRepo(dir, ['@types/express-session']);
  compile('express-app-es.ts');
});
