import { createRequire } from 'node:module';
import { sessions, sessionsManyStores } from 'hotsession/uws';
import { routes } from './routes.mjs';

const require = createRequire(import.meta.url);
/** The uWS.js build under test (a dev dependency; the adapter itself never loads it). */
export const uWS = require('uWebSockets.js');

/**
 * Listens on 127.0.0.1:0 with uWS; resolves to the port and a close().
 * `mount(app)` adds the routes.
 */
export function listen(mount) {
  const app = uWS.App();
  mount(app);
  return new Promise((resolve, reject) => {
    app.listen('127.0.0.1', 0, (token) => {
      if (!token) return reject(new Error('uWS could not listen on 127.0.0.1'));
      const port = uWS.us_socket_local_port(token);
      resolve({
        app,
        port,
        url: `http://127.0.0.1:${port}`,
        async close() {
          uWS.us_listen_socket_close(token);
          // Closes keep-alive connections too (uWS >= 20.26), so the process can exit.
          if (typeof app.close === 'function') app.close();
        },
      });
    });
  });
}

/**
 * startHttp's contract over uWS: every route of routes.mjs, sessions from
 * hotsession/uws. One entry uses sessions() (the single-session fast path),
 * several use sessionsManyStores().
 */
export async function startUws(entries, options) {
  const first = entries[0].name;
  const single = entries.length === 1;
  const wrap = single ? sessions(first, entries[0].store, options) : sessionsManyStores(entries, options);
  const handler = async (res, req, s) => {
    // req is only readable before the first await.
    const path = req.getUrl();
    const query = new URLSearchParams(req.getQuery());
    const route = routes[path];
    if (!route) return { status: 404, body: 'not found' };
    const get = single ? () => s : (name = first) => s(name);
    try {
      const body = await route(get, query);
      return { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
    } catch (e) {
      return { status: e.status ?? 500, body: String(e.code ?? 'error') };
    }
  };
  const srv = await listen((app) => app.any('/*', wrap(handler)));
  return { url: srv.url, close: srv.close };
}
