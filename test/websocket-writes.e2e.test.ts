/**
 * A query over WebSocket is answered with `next` and `complete` in one write to the TCP socket
 * (src/server/coalesce-writes.ts), not one write (syscall) per frame.
 */
import net from 'node:net';
import { afterEach, expect, it } from 'vitest';
import WebSocket from 'ws';
import { useTestApp } from './helpers/app.js';

const t = useTestApp('memory');

// Counts the writes the server makes to one connection's socket (the one from `clientPort`).
type WriteFn = (this: net.Socket, ...args: unknown[]) => unknown;
const proto = net.Socket.prototype as unknown as Record<'_write' | '_writev', WriteFn>;
const originals = { _write: proto._write, _writev: proto._writev };
afterEach(() => Object.assign(proto, originals));
function countWrites(clientPort: () => number | undefined): { count: number } {
  const counter = { count: 0 };
  for (const name of ['_write', '_writev'] as const) {
    const original = originals[name];
    proto[name] = function (this: net.Socket, ...args: unknown[]) {
      if (this.remotePort === clientPort() && this.remoteAddress === '127.0.0.1') counter.count++;
      return original.apply(this, args);
    };
  }
  return counter;
}

it('sends a query result and its complete in one write', async () => {
  const { ws: url } = await t().listen();
  const token = await t().token('writer');
  const ws = new WebSocket(url, 'graphql-transport-ws');
  let port: number | undefined;
  ws.once('upgrade', (res) => (port = res.socket.localPort));
  let writes: { count: number } | null = null;
  const messages: string[] = [];
  const done = new Promise<void>((resolve) =>
    ws.on('message', (data) => {
      const m = JSON.parse(String(data)) as { type: string };
      messages.push(m.type);
      if (m.type === 'connection_ack') {
        writes = countWrites(() => port);
        ws.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: '{ me { id } }' } }));
      }
      if (m.type === 'complete') resolve();
    }),
  );
  ws.on('open', () => ws.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } })));
  await done;
  ws.close();
  expect(messages).toEqual(['connection_ack', 'next', 'complete']);
  expect(writes!.count).toBe(1);
});
