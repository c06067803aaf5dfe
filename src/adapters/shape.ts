import { IncomingMessage, ServerResponse } from 'node:http';

// Why this module exists: Express replaces the prototype of `req` and `res`
// on every request. V8 keeps one hidden class (map) for all objects that got
// the same prototype the same way, but a property added to such an object
// afterwards gives that object a map of its own, so every later property
// access on it, by Express, by Node's http code, by the app, misses V8's
// inline caches and goes to the runtime. A session middleware must add
// properties (`req.session` and friends, the `res.writeHead` and `res.end`
// hooks), and so made every request pay that.
//
// An object in dictionary mode has no such problem: dictionary-mode objects
// with one prototype share one map, which the caches handle, and adding a
// property is a hash-table insert. Deleting a property switches an object to
// dictionary mode, once, unless V8 can undo the property's addition by going
// back to the map it came from, which it cannot for these objects (their
// maps have no such parent): adding one property and deleting it is enough.
// Measured in-process (bench/express-layer.mjs): under Express the request
// costs much less this way; on plain node:http objects, whose maps stay
// shared, it would not help, so it is done only when the prototype was
// swapped. The test in test/integration/adapter-shapes.test.mjs checks that
// the switch happens under Express 4 and 5.

const kProbe = Symbol('hotsession.shape.probe');

/** Puts `obj` in dictionary mode (same properties, same values, same prototype). */
function toDictionaryMode(obj: object): void {
  const o = obj as Record<symbol, unknown>;
  o[kProbe] = undefined;
  delete o[kProbe];
}

/**
 * Before the middleware adds its properties: if a framework swapped the
 * request's and response's prototypes (Express does, per request), switch
 * both objects to dictionary mode so that the additions do not make every
 * later property access on them slow. Plain node:http objects are left alone.
 */
export function prepareShapes(req: object, res: object): void {
  if (Object.getPrototypeOf(req) !== IncomingMessage.prototype) toDictionaryMode(req);
  if (Object.getPrototypeOf(res) !== ServerResponse.prototype) toDictionaryMode(res);
}
