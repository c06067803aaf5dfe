// Distinct sessions for the load generator: one /login per connection, the
// Set-Cookie values turned into Cookie headers, each checked with a /read
// so a stack that loses sessions fails here instead of posting a number.
import http from 'node:http';
import { writeFileSync } from 'node:fs';

function get(agent, port, path, cookie) {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, agent, headers: cookie ? { cookie } : {} }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body }));
    });
    req.setTimeout(10_000, () => req.destroy(new Error(`GET ${path} timed out`)));
    req.once('error', reject);
  });
}

/** "a=1; Path=/; HttpOnly" x n -> "a=1; b=2" (later values of one name win). */
export function cookieHeader(setCookie) {
  const jar = new Map();
  for (const line of setCookie ?? []) {
    const pair = line.split(';', 1)[0].trim();
    const eq = pair.indexOf('=');
    if (eq > 0) jar.set(pair.slice(0, eq), pair.slice(eq + 1));
  }
  return [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
}

async function pool(n, width, fn) {
  const out = new Array(n);
  let next = 0;
  const worker = async () => {
    while (next < n) {
      const i = next++;
      out[i] = await fn(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, n) }, worker));
  return out;
}

/**
 * Logs in `n` times and returns the `n` distinct Cookie headers.
 * Throws when a login sets no cookie or a cookie does not read back.
 */
export async function createSessions(port, n) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
  try {
    const cookies = await pool(n, 16, async (i) => {
      const r = await get(agent, port, '/login');
      const c = cookieHeader(r.headers['set-cookie']);
      if (r.status !== 200 || c === '') throw new Error(`login ${i}: status ${r.status}, no session cookie`);
      return c;
    });
    if (new Set(cookies).size !== n) throw new Error('logins returned duplicate cookies');
    await pool(n, 16, async (i) => {
      const r = await get(agent, port, '/read', cookies[i]);
      if (r.status !== 200) throw new Error(`session ${i} does not read back: status ${r.status} ${r.body.slice(0, 80)}`);
    });
    await checkWrites(agent, port, cookies[0]);
    return cookies;
  } finally {
    agent.destroy();
  }
}

/**
 * Two /write requests in a row must count up: a stack whose writes do not
 * persist would otherwise post read-write numbers for work it skipped. The
 * second request carries the cookie the first returned (cookie stores keep
 * the counter in it); the load generator later replays the original cookies,
 * which costs those stores the same open, change and seal on every request.
 */
async function checkWrites(agent, port, cookie) {
  const a = await get(agent, port, '/write', cookie);
  const next = mergeCookies(cookie, a.headers['set-cookie']);
  const b = await get(agent, port, '/write', next);
  if (a.status !== 200 || b.status !== 200 || Number(b.body) !== Number(a.body) + 1) {
    throw new Error(`writes do not persist: /write answered ${a.status} ${JSON.stringify(a.body)}, then ${b.status} ${JSON.stringify(b.body)}`);
  }
}

function mergeCookies(header, setCookie) {
  const jar = new Map(header.split('; ').map((p) => [p.slice(0, p.indexOf('=')), p.slice(p.indexOf('=') + 1)]));
  const fresh = cookieHeader(setCookie);
  if (fresh !== '') for (const p of fresh.split('; ')) jar.set(p.slice(0, p.indexOf('=')), p.slice(p.indexOf('=') + 1));
  return [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
}

/** Checks `path` answers 200 without a cookie (raw servers) and returns no cookies. */
export async function checkHello(port, path) {
  const agent = new http.Agent({ keepAlive: false });
  const r = await get(agent, port, path);
  if (r.status !== 200) throw new Error(`GET ${path}: status ${r.status}`);
}

/** Writes one Cookie header per line for the wrk script. */
export function writeCookieFile(file, cookies) {
  writeFileSync(file, cookies.join('\n') + '\n');
}

/**
 * Session ids in Cookie headers whose values are express-style signed ids
 * (`s:<id>.<signature>`, URI-encoded), as both express-session and the
 * hotsession adapters write them.
 */
export function signedIds(cookies) {
  const ids = [];
  for (const header of cookies) {
    for (const pair of header.split('; ')) {
      let v = pair.slice(pair.indexOf('=') + 1);
      try {
        v = decodeURIComponent(v);
      } catch {
        continue;
      }
      const dot = v.lastIndexOf('.');
      if (v.startsWith('s:') && dot > 2) ids.push(v.slice(2, dot));
    }
  }
  return ids;
}
