// One uWS app in a worker thread on its own port, sessions in the
// SharedMemoryStore the test's main thread created. Posts { port, threadId };
// on any message closes its app (a thread must not end with an open uWS app)
// and lets the thread end.
import { parentPort, threadId, workerData } from 'node:worker_threads';
import { SharedMemoryStore } from 'hotsession';
import { startUws } from '../helpers/uws-harness.mjs';

const store = new SharedMemoryStore({ name: workerData.name });
const srv = await startUws([{ name: 'sid', store }], { secret: workerData.secret });
parentPort.postMessage({ port: Number(new URL(srv.url).port), threadId });
parentPort.once('message', async () => {
  await srv.close();
  parentPort.close();
});
