/**
 * Frames written to one WebSocket in the same turn of the event loop leave in one write
 * (one syscall) instead of one each: graphql-ws answers a query or mutation with a `next` and
 * a `complete` frame, and the per-frame write was the largest single cost of a send over
 * WebSocket. The TCP socket is corked at the first frame of a turn and uncorked, for every
 * socket corked in that turn, once the turn's microtasks have run.
 *
 * graphql-ws waits for each frame's write callback before it sends the next; the callback is
 * called once the frame is queued (a failed write ends the socket, which graphql-ws sees
 * anyway), so `complete` joins `next` in the same write.
 */
import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';

const corked = new Set<Socket>();

function uncorkAll(): void {
  for (const raw of corked) raw.uncork();
  corked.clear();
}

type Callback = (err?: Error) => void;

/** Wraps `socket.send` (apply before other wrappers that must see every frame). */
export function coalesceWrites(socket: WebSocket): void {
  // ws keeps the TCP socket in a private field; without it (never, in ws 8) frames go out as before.
  const raw = (socket as unknown as { _socket?: Socket })._socket;
  if (!raw) return;
  const send = socket.send.bind(socket) as (data: unknown, options: object) => void;
  socket.send = ((data: unknown, options?: object | Callback, cb?: Callback) => {
    if (typeof options === 'function') {
      cb = options as Callback;
      options = {};
    }
    if (!corked.has(raw) && !raw.destroyed) {
      if (corked.size === 0) process.nextTick(uncorkAll);
      corked.add(raw);
      raw.cork();
    }
    send(data, options ?? {});
    if (cb) queueMicrotask(cb);
  }) as WebSocket['send'];
}
