// A strict nodenext app that has uWebSockets.js: the adapter's request and
// response are then uWS's own types, so handlers typed with them, helpers
// that take them, and members only uWS declares all compile. Type-checked
// only (running it would start uWS).
import type * as uWS from 'uWebSockets.js';
import { MemoryStore, type Session } from 'hotsession';
import { commit, sessions, type SessionHandler, type UwsRoute } from 'hotsession/uws';

type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const exact: [Same<Parameters<SessionHandler>[0], uWS.HttpResponse>, Same<Parameters<SessionHandler>[1], uWS.HttpRequest>] = [true, true];

type Data = { n: number };
declare const app: uWS.TemplatedApp;
const withSession = sessions<Data>('sid', new MemoryStore(), { secret: 's' });
// The wrapper carries its manager (typed by the session's data) for the account API.
const accounts: Promise<number> = withSession.manager.revokeUser('u1', { except: 'h' });
void accounts;

function remote(res: uWS.HttpResponse): string {
  return Buffer.from(res.getRemoteAddressAsText()).toString();
}
const annotated = (res: uWS.HttpResponse, req: uWS.HttpRequest, s: Session<Data>): string => `${remote(res)} ${req.getUrl()} ${s.get('n') ?? 0}`;

app.get('/annotated', withSession(annotated));
app.get('/inferred', withSession((res, _req, s) => {
  res.pause(); // declared by uWS (optional in the structural shape)
  s.set('n', 1);
  return { status: 201, headers: { 'x-a': ['1', '2'] }, body: remote(res) };
}));
app.post('/body', withSession(
  (res) => new Promise<Buffer>((resolve) => {
    const parts: Buffer[] = [];
    res.onData((chunk, last) => {
      parts.push(Buffer.from(chunk.slice(0)));
      if (last) resolve(Buffer.concat(parts));
    });
  }),
  async (res, _req, s, body) => {
    s.set('n', (await body).length);
    for (const c of await commit(s)) res.writeHeader('set-cookie', c);
    res.end('ok');
  },
));
const upgrade: UwsRoute = withSession(
  (_res, req, context) => ({ key: req.getHeader('sec-websocket-key'), context }),
  (res, _req, _s, p) => {
    if (p.context !== undefined) res.cork(() => res.upgrade({}, p.key, '', '', p.context!));
  },
);
app.ws('/ws', { upgrade });
void exact;
