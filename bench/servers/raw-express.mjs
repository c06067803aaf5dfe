// Ceiling: Express answering "hello" through its router and res.send, no
// sessions: what Express itself costs, which every express-* row pays too.
import http from 'node:http';
import { cjs, HOST, need, PORT, ready } from './common.mjs';

const express = cjs(await need('express'));
const app = express();
app.disable('x-powered-by');
app.get('/', (req, res) => {
  res.type('text/plain').send('hello');
});
const server = http.createServer(app);
server.keepAliveTimeout = 60_000;
server.listen(PORT, HOST, () => ready(server.address().port));
process.once('SIGTERM', () => process.exit(0));
