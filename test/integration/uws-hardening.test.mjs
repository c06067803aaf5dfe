// hotsession/uws hardening (issue #14, items 1 and 8), over real sockets:
// a reply whose headers or status line would split the response is a 500
// through the handler error path, never bytes on the wire (node:http's rules);
// repeated Cookie header lines are read as node:http joins them.
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import http, { STATUS_CODES, validateHeaderName, validateHeaderValue } from 'node:http';
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { MemoryStore } from 'hotsession';
import { sessions, sessionsMany } from 'hotsession/uws';
import * as httpAdapter from 'hotsession/http';
import { Jar, request } from '../helpers/jar.mjs';
import { listen } from '../helpers/uws-harness.mjs';

const SECRET = 'uws hardening test secret';
const cookieModule = await import('hotsession/cookie').catch(() => null);

/** A MemoryStore that answers through a promise `ms` later: the adapter's asynchronous path (snapshot, later()). */
class SlowStore {
  constructor(inner, ms = 5) {
    this.inner = inner;
    this.ms = ms;
  }
  async get(id) {
    await sleep(this.ms);
    return this.inner.get(id);
  }
  async set(id, record, ttl) {
    await sleep(this.ms);
    return this.inner.set(id, record, ttl);
  }
  async patch(id, patch, ttl) {
    await sleep(this.ms);
    return this.inner.patch(id, patch, ttl);
  }
  async forward(id, marker, grace) {
    await sleep(this.ms);
    return this.inner.forward(id, marker, grace);
  }
  async touch(id, ttl) {
    await sleep(this.ms);
    return this.inner.touch(id, ttl);
  }
  async destroy(id) {
    await sleep(this.ms);
    return this.inner.destroy(id);
  }
  close() {}
}

/**
 * Writes one request on a raw socket (`Connection: close`, so the server
 * closes after its answer) and resolves to the response exactly as it came:
 * status line, header lines, body. Times out instead of hanging on a
 * response that never ends.
 */
function exchange(port, path, extraLines = []) {
  const head = [`GET ${path} HTTP/1.1`, 'Host: 127.0.0.1', ...extraLines, 'Connection: close', '', ''].join('\r\n');
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1', () => sock.write(head));
    let raw = '';
    sock.setEncoding('latin1');
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`no complete response to GET ${path}; got ${JSON.stringify(raw)}`));
    }, 3000);
    sock.on('data', (d) => { raw += d; });
    sock.on('error', (err) => { clearTimeout(timer); reject(err); });
    sock.on('close', () => {
      clearTimeout(timer);
      const end = raw.indexOf('\r\n\r\n');
      if (end === -1) return reject(new Error(`truncated response to GET ${path}: ${JSON.stringify(raw)}`));
      const [statusLine, ...lines] = raw.slice(0, end).split('\r\n');
      const fields = lines.map((l) => {
        const colon = l.indexOf(':');
        return { name: l.slice(0, colon).toLowerCase(), value: l.slice(colon + 1).trim() };
      });
      resolve({ raw, statusLine, status: Number(statusLine.split(' ')[1]), lines, fields, body: raw.slice(end + 4) });
    });
  });
}

/** What uWS and the adapter's error path write by themselves; a refused reply may carry nothing else. */
const ERROR_FIELDS = new Set(['date', 'uwebsockets', 'content-length', 'content-type']);

function assertCleanError(r, label) {
  assert.equal(r.statusLine, 'HTTP/1.1 500 Internal Server Error', `${label}: a 500`);
  for (const f of r.fields) assert.ok(ERROR_FIELDS.has(f.name), `${label}: unexpected header line ${JSON.stringify(f.name)} on the wire`);
  assert.equal(r.body, 'Internal Server Error', `${label}: the generic status text, nothing of the handler's`);
  assert.doesNotMatch(r.raw, /attacker|injected/i, `${label}: no injected byte on the wire`);
}

const INJECTION = '/home\r\nSet-Cookie: sid=attacker; Path=/\r\nX-Injected: 1';

// Header names node:http refuses (validateHeaderName throws) and so must we.
const BAD_NAMES = ['', 'x y', 'x:y', 'x\ty', 'x/y', '(x)', '[x]', 'x"', 'caf\u00e9', 'x\u0000', 'x\r\nSet-Cookie: sid=attacker', 'X-A: 1\r\nX-Injected', 'x\n'];
// Header values node:http refuses (validateHeaderValue throws): CR, LF, NUL, other
// controls except HTAB, DEL, and code points above U+00FF.
const BAD_VALUES = [INJECTION, 'a\rb', 'a\nb', 'a\u0000b', '\u0000', 'a\u0001', 'a\u001fb', 'a\u007fb', 'x\u0100', 'line\u2028sep', '\ud83d\ude00', 'fold\r\n continued'];
// Values node:http sends: HTAB, SP, visible ASCII, obs-text (U+0080..U+00FF), empty.
const GOOD_VALUES = ['plain', 'a\tb', 'a b', '', 'caf\u00e9', '!#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~', 'x'.repeat(2000)];

// Replies whose headers are not strings, numbers or arrays of them (or whose framing uWS cannot honour).
const BAD_REPLIES = [
  ['an array element with CR/LF', { headers: { 'x-list': ['ok', INJECTION] }, body: 'b' }],
  ['an array element that is an object', { headers: { 'x-list': [{ toString: () => INJECTION }] }, body: 'b' }],
  ['a null value', { headers: { 'x-a': null }, body: 'b' }],
  ['a boolean value', { headers: { 'x-a': true }, body: 'b' }],
  ['an object value', { headers: { 'x-a': { toString: () => INJECTION } }, body: 'b' }],
  ['a Buffer value', { headers: { 'x-a': Buffer.from('attacker') }, body: 'b' }],
  ['a nested array', { headers: { 'x-a': [['attacker']] }, body: 'b' }],
  ['headers given as an array', { headers: ['location', INJECTION], body: 'b' }],
  ['transfer-encoding beside the content-length uWS writes', { headers: { 'Transfer-Encoding': 'chunked' }, body: '0\r\n\r\nHTTP/1.1 200 OK\r\nX-Injected: 1\r\n\r\n' }],
];

describe('hotsession/uws hardening', () => {
  const servers = [];
  const errors = [];
  const onError = (err, source) => errors.push({ err, source });
  const serve = async (mount) => {
    const srv = await listen(mount);
    servers.push(srv);
    return srv;
  };
  after(async () => {
    for (const s of servers) await s.close();
  });

  // Every check runs on the three ways a result reaches the wire: checked in
  // the synchronous route, after an async handler, after an async store load.
  const memory = new MemoryStore();
  const variants = [
    ['sync', sessions('sid', memory, { secret: SECRET, onError }), (f) => f],
    // The result is computed at once (uWS's req dies with the route callback) and handed over by a promise.
    ['async handler', sessions('sid', memory, { secret: SECRET, onError }), (f) => (res, req, s) => {
      const out = f(res, req, s);
      return sleep(1).then(() => out);
    }],
    ['async store', sessions('sid', new SlowStore(memory), { secret: SECRET, onError }), (f) => f],
  ];
  const index = (req) => Number(req.getQuery('i'));

  /** Mounts one handler under /<variant>/<path> for each variant. */
  const mountAll = (app, path, handler) => {
    for (const [label, wrap, adapt] of variants) app.get(`/${label.replace(' ', '-')}${path}`, wrap(adapt(handler)));
  };
  let srv;
  const ready = (async () => {
    srv = await serve((app) => {
      mountAll(app, '/redirect', (res, req, s) => {
        const to = req.getQuery('to');
        s.set('visited', to);
        return { status: 302, headers: { location: to }, body: 'moved' };
      });
      mountAll(app, '/bad-name', (res, req, s) => {
        s.set('tried', true);
        return { headers: { [BAD_NAMES[index(req)]]: 'v' }, body: 'b' };
      });
      mountAll(app, '/bad-value', (res, req, s) => {
        s.set('tried', true);
        return { headers: { 'x-value': BAD_VALUES[index(req)] }, body: 'b' };
      });
      mountAll(app, '/good-value', (res, req) => ({ headers: { 'x-value': GOOD_VALUES[index(req)] }, body: 'b' }));
      mountAll(app, '/bad-reply', (res, req, s) => {
        s.set('tried', true);
        return BAD_REPLIES[index(req)][1];
      });
      mountAll(app, '/status', (res, req) => ({ status: Number(req.getQuery('code')), headers: { 'x-a': '1' }, body: 'b' }));
      mountAll(app, '/ordinary', (res, req, s) => {
        s.set('n', (s.get('n') ?? 0) + 1);
        const headers = Object.create(null);
        Object.assign(headers, {
          location: '/home?next=%2Fcart',
          'Content-Type': 'text/plain; charset=utf-8',
          'x-n': 7,
          'x-list': ['a', 2],
          'set-cookie': ['theme=dark; Path=/', 'lang=en; Path=/'],
          'x-tab': 'a\tb',
          'x-empty': '',
          'x-skipped': undefined,
          'content-length': '999',
          "x-token!#$%&'*+.^_`|~": 'ok',
        });
        return { status: 302, headers, body: 'moved' };
      });
    });
  })();

  const paths = () => variants.map(([label]) => `/${label.replace(' ', '-')}`);
  const takeHandlerError = (label) => {
    const e = errors.shift();
    assert.ok(e, `${label}: onError was called`);
    assert.equal(e.source, 'handler', `${label}: reported as a handler error`);
    assert.ok(e.err instanceof TypeError, `${label}: a TypeError (${e.err})`);
    // It goes to logs: a name is shown escaped, a value not at all.
    assert.doesNotMatch(e.err.message, /[\r\n\0]/, `${label}: no raw control character in the message`);
    assert.ok(!e.err.message.includes(INJECTION.slice(5)), `${label}: the value is not echoed`);
    return e.err;
  };

  test('a redirect that echoes input cannot split the response: a clean 500, the session unchanged', async () => {
    await ready;
    for (const base of paths()) {
      const label = `${base} redirect`;
      errors.length = 0;
      const r = await exchange(srv.port, `${base}/redirect?to=${encodeURIComponent(INJECTION)}`);
      assertCleanError(r, label);
      assert.ok(!r.fields.some((f) => f.name === 'set-cookie' || f.name === 'x-injected' || f.name === 'location'), `${label}: no Location, no Set-Cookie at all`);
      takeHandlerError(label);
      assert.equal(errors.length, 0);
      // The same route with a clean target still redirects (and saves the session).
      const ok = await exchange(srv.port, `${base}/redirect?to=${encodeURIComponent('/home?x=1')}`);
      assert.equal(ok.statusLine, 'HTTP/1.1 302 Found', `${label}: an ordinary redirect`);
      assert.deepEqual(ok.fields.filter((f) => f.name === 'location'), [{ name: 'location', value: '/home?x=1' }]);
      assert.equal(ok.fields.filter((f) => f.name === 'set-cookie').length, 1, `${label}: the new session's cookie`);
    }
    assert.equal(errors.length, 0);
  });

  test('header names must be RFC 9110 tokens, as node:http requires', async () => {
    await ready;
    for (const [i, name] of BAD_NAMES.entries()) {
      assert.throws(() => validateHeaderName(name), `node:http refuses the name ${JSON.stringify(name)} too`);
      for (const base of paths()) {
        const label = `${base} name ${JSON.stringify(name)}`;
        errors.length = 0;
        const r = await exchange(srv.port, `${base}/bad-name?i=${i}`);
        assertCleanError(r, label);
        takeHandlerError(label);
      }
    }
    assert.equal(errors.length, 0);
  });

  test('header values: CR, LF, NUL, other controls, DEL and code points above U+00FF are refused as node:http refuses them', async () => {
    await ready;
    for (const [i, value] of BAD_VALUES.entries()) {
      assert.throws(() => validateHeaderValue('x-value', value), `node:http refuses ${JSON.stringify(value)} too`);
      for (const base of paths()) {
        const label = `${base} value ${JSON.stringify(value)}`;
        errors.length = 0;
        const r = await exchange(srv.port, `${base}/bad-value?i=${i}`);
        assertCleanError(r, label);
        assert.ok(!r.fields.some((f) => f.name === 'x-value'), `${label}: the header is not written`);
        takeHandlerError(label);
      }
    }
    for (const [i, value] of GOOD_VALUES.entries()) {
      validateHeaderValue('x-value', value);
      for (const base of paths()) {
        const r = await exchange(srv.port, `${base}/good-value?i=${i}`);
        assert.equal(r.status, 200, `${base}: ${JSON.stringify(value.slice(0, 20))} is sent, as node:http sends it`);
        assert.equal(r.fields.filter((f) => f.name === 'x-value').length, 1);
      }
    }
    // No value's bytes survive as a line of their own (checked above), and nothing was reported for the good ones.
    assert.equal(errors.length, 0);
  });

  test('header values that are not strings or numbers (or arrays of them), and transfer-encoding, are refused', async () => {
    await ready;
    for (const [i, [what]] of BAD_REPLIES.entries()) {
      for (const base of paths()) {
        const label = `${base} ${what}`;
        errors.length = 0;
        const r = await exchange(srv.port, `${base}/bad-reply?i=${i}`);
        assertCleanError(r, label);
        assert.ok(!r.fields.some((f) => f.name.startsWith('x-') || f.name === 'location' || f.name === 'transfer-encoding'), `${label}: none of its headers`);
        takeHandlerError(label);
      }
    }
    assert.equal(errors.length, 0);
  });

  test('the status line comes from the status code alone: a tampered or inherited reason phrase is never written', async () => {
    await ready;
    const saved = STATUS_CODES[299];
    STATUS_CODES[299] = 'Fine\r\nX-Injected: 1';
    Object.prototype[799] = 'OK\r\nSet-Cookie: sid=attacker';
    try {
      for (const base of paths()) {
        const tampered = await exchange(srv.port, `${base}/status?code=299`);
        assert.equal(tampered.statusLine, 'HTTP/1.1 299 Unknown', `${base}: a reason phrase with CR/LF is replaced`);
        const inherited = await exchange(srv.port, `${base}/status?code=799`);
        assert.equal(inherited.statusLine, 'HTTP/1.1 799 Unknown', `${base}: only node's own reason phrases are used`);
        for (const r of [tampered, inherited]) {
          assert.doesNotMatch(r.raw, /attacker|injected/i);
          assert.deepEqual(r.fields.map((f) => f.name).filter((n) => !ERROR_FIELDS.has(n)), ['x-a']);
        }
      }
    } finally {
      if (saved === undefined) delete STATUS_CODES[299];
      else STATUS_CODES[299] = saved;
      delete Object.prototype[799];
    }
    for (const base of paths()) {
      assert.equal((await exchange(srv.port, `${base}/status?code=404`)).statusLine, 'HTTP/1.1 404 Not Found');
      assert.equal((await exchange(srv.port, `${base}/status?code=299`)).statusLine, 'HTTP/1.1 299 Unknown');
    }
    assert.equal(errors.length, 0);
  });

  // uWS writes whatever status it is handed into the status line; node:http throws
  // ERR_HTTP_INVALID_STATUS_CODE for these, so a reply carrying one must be a handler error.
  test('a status that is not an integer 100..999 is a clean 500, never a status line of its own', async () => {
    await ready;
    for (const code of ['99', '1000', '200.5', '-200', 'abc', 'Infinity']) {
      for (const base of paths()) {
        const label = `${base} status ${code}`;
        errors.length = 0;
        assertCleanError(await exchange(srv.port, `${base}/status?code=${code}`), label);
        takeHandlerError(label);
      }
    }
    assert.equal(errors.length, 0);
  });

  test('inherited (prototype) properties of a headers object are not headers, as in node:http', async () => {
    await ready;
    Object.prototype['set-cookie'] = 'sid=attacker; Path=/';
    try {
      for (const base of paths()) {
        const r = await exchange(srv.port, `${base}/status?code=200`);
        assert.equal(r.status, 200);
        assert.doesNotMatch(r.raw, /attacker/, `${base}: a polluted prototype adds no header`);
      }
    } finally {
      delete Object.prototype['set-cookie'];
    }
    assert.equal(errors.length, 0);
  });

  test('ordinary replies still work: strings, numbers, arrays, null-prototype headers, HTAB and empty values', async () => {
    await ready;
    for (const base of paths()) {
      const r = await exchange(srv.port, `${base}/ordinary`);
      assert.equal(r.statusLine, 'HTTP/1.1 302 Found');
      const get = (name) => r.fields.filter((f) => f.name === name).map((f) => f.value);
      assert.deepEqual(get('location'), ['/home?next=%2Fcart']);
      assert.deepEqual(get('content-type'), ['text/plain; charset=utf-8']);
      assert.deepEqual(get('x-n'), ['7']);
      assert.deepEqual(get('x-list'), ['a', '2']);
      assert.deepEqual(get('x-tab'), ['a\tb']);
      assert.deepEqual(get('x-empty'), ['']);
      assert.deepEqual(get('x-skipped'), [], 'an undefined value writes nothing');
      assert.deepEqual(get("x-token!#$%&'*+.^_`|~"), ['ok']);
      assert.deepEqual(get('content-length'), ['5'], 'uWS frames the body; the given content-length is ignored');
      const cookies = get('set-cookie');
      assert.equal(cookies.length, 3, `${base}: the handler's two cookies and the session's`);
      assert.ok(cookies.includes('theme=dark; Path=/') && cookies.includes('lang=en; Path=/'));
      assert.ok(cookies.some((c) => c.startsWith('sid=s%3A')));
      assert.equal(r.body, 'moved');
    }
    assert.equal(errors.length, 0);
  });
});

describe('hotsession/uws reads every Cookie header line, as node:http does', () => {
  const servers = [];
  const errors = [];
  const onError = (err, source) => errors.push({ err, source });
  after(async () => {
    for (const s of servers) await s.close();
  });

  /**
   * The same sessions behind uWS (synchronous store, asynchronous store) and
   * behind hotsession/http on node:http: one MemoryStore, one secret, so one
   * cookie is valid on all three.
   */
  async function trio(makeStore, names) {
    const inner = makeStore();
    const options = { secret: SECRET, onError };
    const wrap = (store) => (names.length === 1 ? sessions(names[0], store, options) : sessionsMany(names, store, options));
    const sync = wrap(inner);
    // A cookie store has no backend to wait for: both routes are synchronous there.
    const slow = wrap(typeof inner.get === 'function' ? new SlowStore(inner) : inner);
    const answer = (res, req, s) => {
      const get = names.length === 1 ? () => s : s;
      const who = names.map((n) => `${n}:${get(n).get('user') ?? '-'}`).join(' ');
      return JSON.stringify({ who, cookie: req.getHeader('cookie') });
    };
    const login = (res, req, s) => {
      const get = names.length === 1 ? () => s : s;
      for (const n of names) get(n).set('user', `${n}-${req.getQuery('as')}`);
      if (req.getQuery('big') === '1') for (const n of names) get(n).set('pad', randomBytes(400).toString('hex'));
      return 'ok';
    };
    const uws = await listen((app) => {
      app.get('/login', sync(login));
      app.get('/sync', sync(answer));
      app.get('/async', slow(answer));
    });
    servers.push(uws);
    const mw = httpAdapter.sessionsManyStores(names.map((name) => ({ name, store: inner })), { secret: SECRET });
    const node = http.createServer((req, res) => mw(req, res, () => {
      const who = names.map((n) => `${n}:${httpAdapter.getSessionMany(req, n).get('user') ?? '-'}`).join(' ');
      res.end(JSON.stringify({ who, cookie: req.headers.cookie ?? '' }));
    }));
    await new Promise((resolve) => node.listen(0, '127.0.0.1', resolve));
    servers.push({ close: () => new Promise((resolve) => node.close(resolve)) });
    return { uws, nodePort: node.address().port };
  }

  /** Asks all three servers with the same raw Cookie lines; returns what each read. */
  async function ask(t, lines) {
    const cookieLines = lines.map((l) => `Cookie: ${l}`);
    const [sync, async_, node] = await Promise.all([
      exchange(t.uws.port, '/sync', cookieLines),
      exchange(t.uws.port, '/async', cookieLines),
      exchange(t.nodePort, '/', cookieLines),
    ]);
    for (const r of [sync, async_, node]) assert.equal(r.status, 200, r.raw);
    return { sync: JSON.parse(sync.body), async: JSON.parse(async_.body), node: JSON.parse(node.body) };
  }

  test('a session cookie on a later Cookie line loads the session; the first occurrence of a name wins', async () => {
    const t = await trio(() => new MemoryStore(), ['sid']);
    const jar = new Jar();
    await request(t.uws.url, '/login?as=ada', jar);
    const sid = jar.header();
    assert.match(sid, /^sid=s%3A/);
    const forged = 'sid=s%3Aforged.forged';
    const cases = [
      [[sid], 'sid:sid-ada'],
      [['theme=dark', sid], 'sid:sid-ada'],
      [['theme=dark; lang=en', 'a=1', sid], 'sid:sid-ada'],
      [['xsid=1', sid], 'sid:sid-ada'],
      [['a=sid=1', sid], 'sid:sid-ada'],
      [['a=1 sid=2', sid], 'sid:sid-ada'],
      [[sid, forged], 'sid:sid-ada'],
      [[forged, sid], 'sid:-'],
      [['theme=dark'], 'sid:-'],
      [['theme=dark', ''], 'sid:-'],
    ];
    for (const [lines, who] of cases) {
      const r = await ask(t, lines);
      const label = JSON.stringify(lines);
      assert.equal(r.node.who, who, `${label}: node:http reads ${who}`);
      assert.equal(r.sync.who, who, `${label}: uWS (sync store) reads what node:http reads`);
      assert.equal(r.async.who, who, `${label}: uWS (async store) reads what node:http reads`);
      // The handler gets a snapshot of req only when the store was asked (a signed id was found);
      // otherwise it runs at once with uWS's own req, whose getHeader gives the first line.
      if (who !== 'sid:-') assert.equal(r.async.cookie, r.node.cookie, `${label}: the request snapshot's cookie header is node:http's join`);
    }
    assert.equal(errors.length, 0);
  });

  test('several named sessions, each on its own Cookie line (an HTTP/2 front end forwarding crumbs)', async () => {
    const t = await trio(() => new MemoryStore(), ['cart', 'admin']);
    const jar = new Jar();
    await request(t.uws.url, '/login?as=bo', jar);
    const [cart, admin] = jar.header().split('; ');
    for (const lines of [[cart, admin], [admin, cart], ['theme=dark', cart, 'x=1', admin], [`${cart}; ${admin}`]]) {
      const r = await ask(t, lines);
      const label = JSON.stringify(lines);
      for (const side of ['node', 'sync', 'async']) assert.equal(r[side].who, 'cart:cart-bo admin:admin-bo', `${label}: ${side}`);
      assert.equal(r.async.cookie, r.node.cookie, `${label}: the snapshot's cookie header`);
    }
    const only = await ask(t, ['theme=dark', cart]);
    for (const side of ['node', 'sync', 'async']) assert.equal(only[side].who, 'cart:cart-bo admin:-', side);
    assert.equal(errors.length, 0);
  });

  test('a chunked cookie-store session whose parts come on separate Cookie lines', { skip: cookieModule ? false : 'hotsession/cookie is not built' }, async () => {
    const t = await trio(() => new cookieModule.CookieStore({ secret: randomBytes(32), chunks: 4, maxCookieSize: 700 }), ['sid']);
    const jar = new Jar();
    const login = await request(t.uws.url, '/login?as=cy&big=1', jar);
    assert.ok(login.setCookie.length >= 2, 'the session needs several cookies');
    const pairs = jar.header().split('; ');
    for (const lines of [pairs, [pairs.join('; ')], [pairs[0], pairs.slice(1).join('; ')], [...pairs].reverse()]) {
      const r = await ask(t, lines);
      for (const side of ['node', 'sync', 'async']) assert.equal(r[side].who, 'sid:sid-cy', `${lines.length} line(s): ${side}`);
    }
    assert.equal(errors.length, 0);
  });
});
