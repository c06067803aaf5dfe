// A minimal cookie jar for tests: enough of RFC 6265 to follow a session
// (name=value, Max-Age/Expires deletion), nothing more.
export class Jar {
  cookies = new Map();

  /** The Cookie header to send, or undefined when empty. */
  header() {
    if (this.cookies.size === 0) return undefined;
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  /** Records a response's Set-Cookie values; returns them parsed. */
  update(setCookies) {
    const parsed = [];
    for (const line of setCookies) {
      const c = parseSetCookie(line);
      parsed.push(c);
      if (c.maxAge !== undefined && c.maxAge <= 0) this.cookies.delete(c.name);
      else this.cookies.set(c.name, c.value);
    }
    return parsed;
  }
}

export function parseSetCookie(line) {
  const [pair, ...attrs] = line.split(';');
  const eq = pair.indexOf('=');
  const c = { name: pair.slice(0, eq).trim(), value: pair.slice(eq + 1).trim(), attrs: {} };
  for (const a of attrs) {
    const i = a.indexOf('=');
    const k = (i === -1 ? a : a.slice(0, i)).trim().toLowerCase();
    const v = i === -1 ? true : a.slice(i + 1).trim();
    c.attrs[k] = v;
  }
  if (c.attrs['max-age'] !== undefined) c.maxAge = Number(c.attrs['max-age']);
  return c;
}

/** fetch with a jar: sends its cookies, records the answer's. */
export async function request(base, path, jar, init = {}) {
  const headers = { ...(init.headers ?? {}) };
  const cookie = jar?.header();
  if (cookie !== undefined && headers.cookie === undefined) headers.cookie = cookie;
  const res = await fetch(base + path, { ...init, headers });
  const setCookie = res.headers.getSetCookie();
  const parsed = jar ? jar.update(setCookie) : setCookie.map(parseSetCookie);
  const text = await res.text();
  let body;
  try { body = JSON.parse(text); } catch { body = text; }
  return { status: res.status, body, setCookie: parsed, raw: setCookie };
}
