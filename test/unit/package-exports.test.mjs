import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { spawnSync } from 'node:child_process';

const require = createRequire(import.meta.url);
const pkg = require('../../package.json');

// Every subpath in package.json "exports" loads through require and import,
// and both give the same module (no dual-package hazard).
for (const sub of Object.keys(pkg.exports).filter((k) => k !== './package.json')) {
  const spec = sub === '.' ? 'hotsession' : `hotsession/${sub.slice(2)}`;
  test(`${spec} loads with require and import`, async () => {
    const cjs = require(spec);
    const esm = await import(spec);
    assert.ok(Object.keys(cjs).length > 0 || typeof cjs === 'function');
    for (const name of Object.keys(cjs)) assert.equal(esm[name], cjs[name], `${name} is the same object`);
    const decl = pkg.exports[sub].types;
    assert.ok(require('node:fs').existsSync(require('node:path').join(__dirname(), '..', '..', decl)), `${decl} exists`);
  });
}

function __dirname() {
  return new URL('.', import.meta.url).pathname;
}

test('hotsession/http works from a CommonJS script outside the test runner', () => {
  const r = spawnSync(process.execPath, ['-e', "const h = require('hotsession/http'); if (typeof h.sessions !== 'function') process.exit(1)"], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
});
