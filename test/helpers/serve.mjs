// node:http servers on 127.0.0.1:0 for the express adapter tests, and a
// fetch-based client for each. A test file calls `after(closeServers)`.
import http from 'node:http';
import { once } from 'node:events';

const servers = [];

/** Closes every server `serve` started in this process. */
export function closeServers() {
  return Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
}

/**
 * Serves `handler` (an Express app or a node:http listener); returns
 * `get(path, { cookie, headers })` resolving with the status, the body, every
 * Set-Cookie and the `connect.sid` pair from them.
 */
export async function serve(handler) {
  const server = http.createServer(handler);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  servers.push(server);
  const base = `http://127.0.0.1:${server.address().port}`;
  return async (path = '/', { cookie, headers = {} } = {}) => {
    const res = await fetch(base + path, { redirect: 'manual', headers: { ...headers, ...(cookie ? { cookie } : {}) } });
    const setCookie = res.headers.getSetCookie();
    return { status: res.status, body: await res.text(), setCookie, cookie: setCookie.find((c) => c.startsWith('connect.sid='))?.split(';')[0] };
  };
}
