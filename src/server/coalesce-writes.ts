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

const corked = new Set<Socket>();

function uncorkAll(): void {
  for (const raw of corked) raw.uncork();
  corked.clear();
}

/**
 * Corks `raw` until the current turn's microtasks have run; called before each frame is
 * written (websocket.ts, ServerWebSocket.send, which calls a frame's write callback then).
 */
export function corkForTurn(raw: Socket | undefined): void {
  // ws keeps the TCP socket in a private field; without it (never, in ws 8) frames go out as before.
  if (!raw || corked.has(raw) || raw.destroyed) return;
  if (corked.size === 0) process.nextTick(uncorkAll);
  corked.add(raw);
  raw.cork();
}
