// The chart: grouped horizontal bars of requests/s, one group per scenario,
// read-only and read-write as the two bars of a group (the raw ceilings have
// one "hello" bar). Hand-written SVG, no dependencies.

const COLORS = { read: '#4e79a7', write: '#f28e2b', hello: '#59a14f' };
const NAMES = { read: 'read-only (GET /read)', write: 'read-write (GET /write)', hello: 'hello, no session' };

const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

function niceStep(max, ticks) {
  const raw = max / ticks;
  const pow = 10 ** Math.floor(Math.log10(raw));
  const m = raw / pow;
  return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * pow;
}

const short = (n) => (n >= 1e6 ? `${+(n / 1e6).toFixed(1)}M` : n >= 1e3 ? `${+(n / 1e3).toFixed(1)}k` : `${Math.round(n)}`);

/**
 * @param {{ label: string, bars: { variant: string, value: number, note?: string }[] }[]} groups
 * @param {{ title: string, subtitle?: string }} text
 * @returns {string} an SVG document
 */
export function barChart(groups, { title, subtitle = '' }) {
  // Labels are right-aligned against the bars: room for the longest (13 px text, ~7.2 px a character).
  const labelW = Math.round(Math.min(440, Math.max(200, 24 + 7.2 * Math.max(0, ...groups.map((g) => g.label.length)))));
  const plotW = 560;
  const right = 130;
  const barH = 16;
  const barGap = 3;
  const groupGap = 14;
  const top = subtitle ? 96 : 78;
  const width = labelW + plotW + right;
  const max = Math.max(1, ...groups.flatMap((g) => g.bars.map((b) => b.value)));
  const step = niceStep(max, 5);
  const axisMax = Math.ceil(max / step) * step;
  const x = (v) => labelW + (v / axisMax) * plotW;

  const body = [];
  let y = top;
  for (const g of groups) {
    const h = g.bars.length * barH + (g.bars.length - 1) * barGap;
    body.push(`<text x="${labelW - 10}" y="${y + h / 2 + 4}" text-anchor="end" class="label">${esc(g.label)}</text>`);
    for (const b of g.bars) {
      const w = Math.max(1, x(b.value) - labelW);
      body.push(`<rect x="${labelW}" y="${y}" width="${w.toFixed(1)}" height="${barH}" fill="${COLORS[b.variant] ?? '#999'}"><title>${esc(`${g.label} ${b.variant}: ${Math.round(b.value)} req/s`)}</title></rect>`);
      const value = Math.round(b.value).toLocaleString('en-US') + (b.note ? ` (${b.note})` : '');
      body.push(`<text x="${(labelW + w + 4).toFixed(1)}" y="${y + barH - 4}" class="value">${esc(value)}</text>`);
      y += barH + barGap;
    }
    y += groupGap - barGap;
  }
  const bottom = y;
  const height = bottom + 36;

  const grid = [];
  for (let v = 0; v <= axisMax + step / 2; v += step) {
    grid.push(`<line x1="${x(v).toFixed(1)}" y1="${top - 6}" x2="${x(v).toFixed(1)}" y2="${bottom}" class="grid"/>`);
    grid.push(`<text x="${x(v).toFixed(1)}" y="${bottom + 16}" text-anchor="middle" class="tick">${short(v)}</text>`);
  }
  const variants = [...new Set(groups.flatMap((g) => g.bars.map((b) => b.variant)))];
  const legend = variants.map((v, i) => {
    const lx = labelW + i * 190;
    return `<rect x="${lx}" y="${top - 30}" width="12" height="12" fill="${COLORS[v] ?? '#999'}"/><text x="${lx + 18}" y="${top - 20}" class="tick">${esc(NAMES[v] ?? v)}</text>`;
  });

  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif">`,
    '<style>.label{font-size:13px;fill:#222}.value{font-size:11px;fill:#333}.tick{font-size:11px;fill:#555}.grid{stroke:#ddd;stroke-width:1}.title{font-size:17px;font-weight:600;fill:#111}.sub{font-size:12px;fill:#555}</style>',
    `<rect x="0" y="0" width="${width}" height="${height}" fill="#fff"/>`,
    `<text x="16" y="26" class="title">${esc(title)}</text>`,
    subtitle ? `<text x="16" y="46" class="sub">${esc(subtitle)}</text>` : '',
    ...grid,
    ...legend,
    ...body,
    `<text x="${labelW + plotW / 2}" y="${bottom + 32}" text-anchor="middle" class="tick">requests per second; (Nx) = ratio to express + express-session with the same kind of store</text>`,
    '</svg>',
    '',
  ].filter((l) => l !== '').join('\n');
}
