// hotsession/http: a session that cannot be saved (here a record over the
// store's maxRecordSize, refused before anything is sent) never ends as a 200
// that silently dropped the write, whether the handler calls end() alone or
// writeHead() first (node:http's usual style, where the status line is already
// fixed when the save is prepared: the response is then cut off instead).
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { MemoryStore } from 'hotsession';
import { sessions, getSession } from 'hotsession/http';

const store = new MemoryStore({ maxRecordSize: 256 });
const errors = [];
const withSession = sessions('sid', store, { secret: 'http commit errors secret', onError: (err) => errors.push(err.code) });
const server = http.createServer((req, res) =>
  withSession(req, res, () => {
    getSession(req).set('big', 'x'.repeat(req.url === '/small' ? 10 : 1000));
    if (req.url === '/writeHead') res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('saved');
  }),
);
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const base = `http://127.0.0.1:${server.address().port}`;
after(() => { server.close(); store.close(); });

/** Resolves to the status, or to 'reset' when the server cut the response off. */
function status(path) {
  return new Promise((resolve) => {
    http.get(`${base}${path}`, (res) => {
      res.on('data', () => {});
      res.on('end', () => resolve(res.statusCode));
      res.on('error', () => resolve('reset'));
      res.on('aborted', () => resolve('reset'));
    }).on('error', () => resolve('reset'));
  });
}

describe('hotsession/http: a save refused before it was sent', () => {
  test('a session that fits is saved and answered 200 (the control)', async () => {
    assert.equal(await status('/small'), 200);
  });

  test('end() alone: answered with the error status, not 200', async () => {
    const s = await status('/end');
    assert.notEqual(s, 200);
    assert.equal(typeof s, 'number');
  });

  test('writeHead() then end(): the response is cut off, never a complete 200', async () => {
    errors.length = 0;
    assert.equal(await status('/writeHead'), 'reset');
    assert.deepEqual(errors, ['HOTSESSION_ERR_RECORD_TOO_LARGE']);
  });
});
