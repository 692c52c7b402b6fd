/**
 * Slow consumers: what the server holds for one connection is bounded. A client whose backlog
 * (bytes written but not yet taken by the client) is above `maxBytes` and has not shrunk over
 * {@link SLOW_CHECK_MS} is closed; it reconnects and resumes with `after` (docs/guarantees.md).
 * A burst bigger than the bound (a replay) is fine as long as the client keeps taking it.
 * A client that answers pings but does not read is caught here; the keep-alive is no bound.
 *
 * Both transports buffer in the socket's write queue, where it can be measured:
 * - WebSocket: ws's `bufferedAmount` (its sender's queue plus the socket's); events are
 *   written straight to the socket (websocket.ts, EventQueue.pipeTo), so nothing else queues
 *   for the connection.
 * - SSE: yoga waits for 'drain' before it pulls the next event, which would move the backlog
 *   into the stream's EventQueue, out of sight. The response reports every write as accepted
 *   instead, so the backlog stays in `writableLength`, where it is bounded.
 */
import type http from 'node:http';
import type { WebSocket } from 'ws';

/** Close code for a WebSocket client that fell behind ("slow consumer"); graphql-ws clients retry it. */
export const SLOW_CONSUMER_CLOSE_CODE = 4008;

/** How long a backlog above the bound may go without shrinking. */
export const SLOW_CHECK_MS = 250;

/**
 * Calls `close` once `buffered()` is above `maxBytes` and not below what it was
 * {@link SLOW_CHECK_MS} earlier. `check` runs after every write; no timer while under the bound.
 */
function slowConsumerGuard(buffered: () => number, maxBytes: number, close: (buffered: number) => void): () => void {
  let timer: NodeJS.Timeout | null = null;
  let closed = false;
  const check = () => {
    if (closed || timer) return;
    const seen = buffered();
    if (seen <= maxBytes) return;
    timer = setTimeout(() => {
      timer = null;
      const now = buffered();
      if (now > maxBytes && now >= seen) {
        closed = true;
        close(now);
      } else check();
    }, SLOW_CHECK_MS);
    timer.unref();
  };
  return check;
}

/** Armed checks of WebSockets above their bound; a socket under it costs nothing here. */
const slowSockets = new Map<WebSocket, NodeJS.Timeout>();

/**
 * Closes `socket` with {@link SLOW_CONSUMER_CLOSE_CODE} when it is a slow consumer; called after
 * every write (websocket.ts, ServerWebSocket.send). The same rule as slowConsumerGuard, with no
 * state per socket until it is above the bound.
 */
export function checkWebSocketBacklog(socket: WebSocket, maxBytes: number, onSlow: (buffered: number) => void): void {
  if (slowSockets.has(socket) || socket.readyState !== socket.OPEN) return;
  const seen = socket.bufferedAmount;
  if (seen <= maxBytes) return;
  const timer = setTimeout(() => {
    slowSockets.delete(socket);
    if (socket.readyState !== socket.OPEN) return;
    const now = socket.bufferedAmount;
    if (now > maxBytes && now >= seen) {
      onSlow(now);
      // The close frame queues behind the backlog; nothing more is sent (every writer checks
      // readyState), and ws destroys the socket if the peer never reads the close (30 s).
      socket.close(SLOW_CONSUMER_CLOSE_CODE, 'slow consumer');
    } else checkWebSocketBacklog(socket, maxBytes, onSlow);
  }, SLOW_CHECK_MS);
  timer.unref();
  slowSockets.set(socket, timer);
}

/**
 * Ends an SSE response when it is a slow consumer, by destroying its connection: a client that
 * does not read would never receive a last event.
 */
export function boundEventStream(res: http.ServerResponse, maxBytes: number, onSlow: (buffered: number) => void): void {
  const check = slowConsumerGuard(() => res.writableLength, maxBytes, (buffered) => {
    if (res.destroyed) return;
    onSlow(buffered);
    res.destroy();
  });
  const write = res.write.bind(res) as (...args: unknown[]) => boolean;
  res.write = ((...args: unknown[]) => {
    if (res.destroyed) return true;
    write(...args);
    check();
    return true;
  }) as http.ServerResponse['write'];
}
