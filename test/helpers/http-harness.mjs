import http from 'node:http';
import { once } from 'node:events';
import { sessionsManyStores, getSessionMany } from 'hotsession/http';
import { routes } from './routes.mjs';

/**
 * Starts a node:http server on 127.0.0.1:0 whose routes use sessions loaded
 * by the hotsession/http middleware. `entries` is [{ name, store }].
 */
export async function startHttp(entries, options) {
  const mw = sessionsManyStores(entries, options);
  const first = entries[0].name;
  const server = http.createServer((req, res) => {
    mw(req, res, (err) => {
      if (err) {
        res.statusCode = err.status ?? 500;
        res.end('error');
        return;
      }
      const url = new URL(req.url, 'http://x');
      const route = routes[url.pathname];
      if (!route) {
        res.statusCode = 404;
        res.end('not found');
        return;
      }
      const get = (name = first) => getSessionMany(req, name);
      route(get, url.searchParams).then(
        (body) => {
          res.setHeader('content-type', 'application/json');
          res.end(JSON.stringify(body));
        },
        (e) => {
          res.statusCode = e.status ?? 500;
          res.end(String(e.code ?? 'error'));
        },
      );
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}`,
    async close() {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}
