// Ceiling: uWebSockets.js answering "hello", no sessions.
import { cjs, HOST, need, PORT, ready, skip } from './common.mjs';

const uWS = cjs(await need('uWebSockets.js'));
uWS.App()
  .any('/*', (res) => {
    res.cork(() => {
      res.writeHeader('content-type', 'text/plain').end('hello');
    });
  })
  .listen(HOST, PORT, (token) => {
    if (!token) skip(`uWS could not listen on ${HOST}:${PORT}`);
    ready(uWS.us_socket_local_port(token));
  });
process.once('SIGTERM', () => process.exit(0));
