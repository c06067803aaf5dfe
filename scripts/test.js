#!/usr/bin/env node
'use strict';
// Runs every test file twice: once on the native codec, once with
// HOTSESSION_NO_NATIVE=1 on the JS fallback. Backends that are not reachable
// are skipped with a reason unless HOTSESSION_REQUIRE_BACKENDS=1 (CI).
//   node scripts/test.js [--js-only|--native-only] [filter...]
const { spawnSync } = require('node:child_process');
const { readdirSync, statSync } = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const args = process.argv.slice(2);
const modes = args.includes('--js-only') ? ['js'] : args.includes('--native-only') ? ['native'] : ['native', 'js'];
const filters = args.filter((a) => !a.startsWith('--'));

function walk(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else if (/\.test\.m?js$/.test(name)) out.push(p);
  }
  return out;
}

const files = walk(path.join(root, 'test'))
  .map((f) => path.relative(root, f))
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort();

let failed = false;
for (const mode of modes) {
  const env = { ...process.env };
  if (mode === 'js') env.HOTSESSION_NO_NATIVE = '1';
  else delete env.HOTSESSION_NO_NATIVE;
  console.log(`\n# hotsession tests: ${mode} codec, ${files.length} files`);
  const r = spawnSync(process.execPath, ['--test', ...files], { cwd: root, env, stdio: 'inherit' });
  if (r.status !== 0) failed = true;
}
process.exit(failed ? 1 : 0);
