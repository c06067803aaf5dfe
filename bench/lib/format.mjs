// Number and table formatting shared by the terminal and Markdown reports.

export const int = (n) => (n === null || n === undefined || !Number.isFinite(n) ? '-' : Math.round(n).toLocaleString('en-US'));

export function ms(n) {
  if (n === null || n === undefined || !Number.isFinite(n)) return '-';
  return n < 10 ? `${n.toFixed(2)} ms` : n < 100 ? `${n.toFixed(1)} ms` : `${Math.round(n)} ms`;
}

export const mb = (bytes) => (bytes === null || bytes === undefined ? 'n/a' : `${(bytes / 1048576).toFixed(0)} MB`);

export const pct = (share) => (share === null || share === undefined || !Number.isFinite(share) ? 'n/a' : `${Math.round(share * 100)}%`);

export const ratio = (r) => (r === null || r === undefined || !Number.isFinite(r) ? '-' : `${r.toFixed(2)}x`);

/**
 * A Markdown table padded to column width, so the same text reads well on
 * a terminal and renders as a table in Markdown. `align`: 'l' | 'r' per column.
 */
export function table(headers, rows, align) {
  const cells = [headers, ...rows].map((r) => r.map((c) => String(c ?? '')));
  const width = headers.map((_, i) => Math.max(3, ...cells.map((r) => r[i].length)));
  const pad = (s, i) => (align[i] === 'r' ? s.padStart(width[i]) : s.padEnd(width[i]));
  const line = (r) => `| ${r.map(pad).join(' | ')} |`;
  const rule = `|${width.map((w, i) => (align[i] === 'r' ? `${'-'.repeat(w + 1)}:` : `${'-'.repeat(w + 2)}`)).join('|')}|`;
  return [line(cells[0]), rule, ...cells.slice(1).map(line)].join('\n');
}

/** "1m05s" */
export function duration(seconds) {
  const s = Math.max(0, Math.round(seconds));
  return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}
