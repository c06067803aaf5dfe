// A node:test reporter for scripts/test.js: one JSON line per finished test
// or suite, with what the closing line and the skip check need. node's own
// summary counts skipped tests but not skipped suites (their tests are never
// reported), which is how a whole backend suite could vanish from "skipped".
export default async function* summaryReporter(source) {
  for await (const event of source) {
    if (event.type !== 'test:pass' && event.type !== 'test:fail') continue;
    const d = event.data;
    yield JSON.stringify({
      ok: event.type === 'test:pass',
      suite: d.details?.type === 'suite',
      name: d.name,
      file: d.file ?? null,
      skip: d.skip === undefined || d.skip === false ? null : d.skip === true ? '' : String(d.skip),
      todo: d.todo !== undefined && d.todo !== false,
      failureType: d.details?.error?.failureType ?? null,
      // The first line of what failed, so the closing summary can name it
      // (CI keeps only the tail of the log).
      error: event.type === 'test:fail' ? firstLine(d.details?.error) : null,
    }) + '\n';
  }
}

function firstLine(err) {
  if (!err) return null;
  const inner = err.cause instanceof Error ? err.cause : err;
  return String(inner.message ?? inner).split('\n')[0].slice(0, 300);
}
