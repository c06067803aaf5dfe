// The conformance routes, independent of any adapter: each handler gets a
// session getter and the query, and returns a JSON-able body. Adapters'
// harnesses (http, uWS) mount the same table.
export const routes = {
  '/set': async (s, q) => { for (const [k, v] of q) s().set(k, v); return { ok: true }; },
  '/set-json': async (s, q) => { s().set(q.get('k'), JSON.parse(q.get('v'))); return { ok: true }; },
  '/get': async (s, q) => ({ value: s().get(q.get('k')) ?? null }),
  '/all': async (s) => { const x = s(); const out = {}; for (const k of x.keys()) out[k] = x.get(k); return { id: x.id, isNew: x.isNew, data: out }; },
  '/del': async (s, q) => { s().delete(q.get('k')); return { ok: true }; },
  '/clear': async (s) => { s().clear(); return { ok: true }; },
  '/flash': async (s, q) => { s().addFlash(q.get('v')); return { ok: true }; },
  '/flashes': async (s) => ({ flashes: s().flashes() }),
  '/opts': async (s, q) => {
    const o = {};
    if (q.has('maxAge')) o.maxAge = Number(q.get('maxAge'));
    if (q.has('path')) o.path = q.get('path');
    if (q.has('domain')) o.domain = q.get('domain');
    s().options(o);
    if (q.has('k')) s().set(q.get('k'), q.get('v'));
    return { ok: true };
  },
  '/save': async (s, q) => { s().set(q.get('k'), q.get('v')); await s().save(); return { ok: true, id: s().id }; },
  '/regenerate': async (s) => { const before = s().id; await s().regenerate(); return { before, after: s().id }; },
  '/destroy': async (s) => { await s().destroy(); return { ok: true }; },
  '/id': async (s) => ({ id: s().id, isNew: s().isNew }),
  '/many-set': async (s, q) => { s('a').set('v', q.get('a')); s('b').set('v', q.get('b')); return { ok: true }; },
  '/many-get': async (s) => ({ a: s('a').get('v') ?? null, b: s('b').get('v') ?? null }),
};
