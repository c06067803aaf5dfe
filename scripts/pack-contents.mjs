#!/usr/bin/env node
// What `npm pack` puts in the tarball, summarised for the README's
// Development section: the files one by one, except dist/, which is
// described by its rule (one .js and one .d.ts per src/ module; test/package/
// contents.test.mjs checks that rule) so that adding a module does not make
// the README stale.
//   node scripts/pack-contents.mjs [tarball]          print the summary
//   node scripts/pack-contents.mjs --write [tarball]  and write it into README.md
// Without a tarball it packs this checkout (as the tests do, cached).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
export const BEGIN = '<!-- npm-pack-contents:begin -->';
export const END = '<!-- npm-pack-contents:end -->';

/** The summary lines for a tarball's file list (paths without the package/ prefix). */
export function summarize(files) {
  const lines = [];
  let dist = 0;
  for (const f of [...files].sort()) {
    if (f.startsWith('dist/')) dist++;
    else lines.push(f);
  }
  if (dist > 0) lines.push('dist/  (compiled by tsc: one .js and one .d.ts for each module of src/)');
  return lines.sort();
}

/** The README block, fences included. */
export function block(files) {
  return `${BEGIN}\n\`\`\`\n${summarize(files).join('\n')}\n\`\`\`\n${END}`;
}

/** README.md with its pack-contents block replaced. */
export function withBlock(readme, files) {
  const a = readme.indexOf(BEGIN);
  const b = readme.indexOf(END);
  if (a === -1 || b === -1 || b < a) throw new Error(`README.md has no ${BEGIN} ... ${END} block`);
  return readme.slice(0, a) + block(files) + readme.slice(b + END.length);
}

async function main() {
  const args = process.argv.slice(2);
  const write = args.includes('--write');
  const { packedTarball, tarballFiles } = await import('../test/helpers/pack.mjs');
  const tarball = args.find((a) => !a.startsWith('--')) ?? packedTarball();
  const files = tarballFiles(tarball);
  console.log(summarize(files).join('\n'));
  if (write) {
    const file = path.join(root, 'README.md');
    fs.writeFileSync(file, withBlock(fs.readFileSync(file, 'utf8'), files));
    console.error(`pack-contents: README.md updated from ${tarball}`);
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
