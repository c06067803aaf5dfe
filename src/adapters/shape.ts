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
// property is a hash-table insert. Deleting a property that is not the last
// one added switches an object to dictionary mode, once. Measured in-process
// (bench/express-layer.mjs): under Express the layer costs less than half as
// much this way; on plain node:http objects, whose maps stay shared, it
// would cost more, so it is done only when the prototype was swapped.

const kFirst = Symbol('hotsession.shape.first');
const kSecond = Symbol('hotsession.shape.second');

type Bag = Record<symbol, unknown>;

/** Puts `obj` in dictionary mode (same properties, same values, same prototype). */
function toDictionaryMode(obj: object): void {
  const o = obj as Bag;
  o[kFirst] = undefined;
  o[kSecond] = undefined;
  delete o[kFirst];
  delete o[kSecond];
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
