// Ceiling: node:http answering "hello", no sessions.
import http from 'node:http';
import { HOST, PORT, ready } from './common.mjs';

const server = http.createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain' });
  res.end('hello');
});
server.keepAliveTimeout = 60_000;
server.listen(PORT, HOST, () => ready(server.address().port));
process.once('SIGTERM', () => process.exit(0));
