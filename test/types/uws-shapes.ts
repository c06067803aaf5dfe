// Compiled with uWebSockets.js hidden (tsconfig.no-uws.json): the adapter's
// public uWS types must then be the structural shapes, not any.
import type { HttpRequest, HttpResponse, HttpResponseShape } from '../../src/adapters/uws/types';

type IsAny<T> = 0 extends 1 & T ? true : false;
const notAny: [IsAny<HttpResponse>, IsAny<HttpRequest>] = [false, false];
const shape: HttpResponseShape = null as unknown as HttpResponse;
declare const res: HttpResponse;
// @ts-expect-error uWS takes no number as a body
res.end(404);
void [notAny, shape];
