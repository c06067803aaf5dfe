// The uWS adapter's types against this checkout's sources (skipLibCheck off).
// The packed declarations, in blank apps with and without uWebSockets.js, are
// test/package/types.test.mjs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const require = createRequire(import.meta.url);
const tsc = require.resolve('typescript/bin/tsc');

function compile(project) {
  const r = spawnSync(process.execPath, [tsc, '-p', path.join(root, 'test', 'types', project)], { cwd: root, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stdout + r.stderr);
}

test('real uWebSockets.js objects fit the structural shapes, and with uWS installed the adapter uses uWS\'s own types', () => {
  compile('tsconfig.uws.json');
});

test('the adapter compiles against the structural shapes alone (uWebSockets.js hidden), and they are not any', () => {
  compile('tsconfig.no-uws.json');
});

test('only src/adapters/uws/types.ts imports uWebSockets.js (the rest of the adapter imports its types from there)', () => {
  const src = path.join(root, 'src');
  const files = readdirSync(src, { recursive: true }).filter((f) => f.endsWith('.ts')).map((f) => path.join('src', f));
  const importers = files.filter((f) => /from\s+['"]uWebSockets\.js['"]|import\(\s*['"]uWebSockets\.js['"]\s*\)/.test(readFileSync(path.join(root, f), 'utf8')));
  assert.deepEqual(importers, [path.join('src', 'adapters', 'uws', 'types.ts')]);
});
