/**
 * What an idle WebSocket subscriber keeps on the server (issue 16: RSS per idle subscriber).
 * Checked with full collections forced in this process (server and clients alike), so the
 * figures are what is retained, not the garbage a collection would take.
 */
import type { IncomingMessage } from 'node:http';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { expect, it } from 'vitest';
import WebSocket from 'ws';
import { SendNotificationMutation } from '../src/client/operations.js';
import { SERVICE, useTestApp } from './helpers/app.js';
import { untilListening } from './helpers/ws.js';

setFlagsFromString('--expose-gc');
const collect = runInNewContext('gc') as () => void;
/** A full collection once the current job's WeakRef targets are released (they live to its end). */
async function fullGc(): Promise<void> {
  await new Promise((r) => setImmediate(r));
  collect();
  await new Promise((r) => setImmediate(r));
  collect();
}

const t = useTestApp('redis', { clock: 'real' });

const QUERY = 'subscription { notificationReceived { id title } }';

/** A bare graphql-transport-ws client: acked, subscribed, `ids` filled as notifications arrive. */
async function subscriber(url: string, token: string, ids: string[] = []): Promise<WebSocket> {
  const ws = new WebSocket(url, 'graphql-transport-ws');
  await new Promise<void>((resolve, reject) => {
    ws.once('error', reject);
    ws.on('open', () => ws.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } })));
    ws.on('message', (data: Buffer) => {
      const msg = JSON.parse(String(data)) as { type: string; payload?: { data?: { notificationReceived: { id: string } } } };
      if (msg.type === 'connection_ack') {
        ws.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: QUERY } }));
        resolve();
      } else if (msg.type === 'next') ids.push(msg.payload!.data!.notificationReceived.id);
    });
  });
  return ws;
}

const closeAll = (sockets: WebSocket[]) => Promise.all(sockets.map((s) => new Promise((r) => (s.once('close', r), s.close()))));

it('lets the upgrade request go once the connection is open, while its subscription delivers', async () => {
  const { ws: url } = await t().listen();
  const requests: WeakRef<IncomingMessage>[] = [];
  t().app.server.on('upgrade', (req: IncomingMessage) => requests.push(new WeakRef(req)));
  const ids: string[] = [];
  const socket = await subscriber(url, await t().token('mem-a'), ids);
  await untilListening(t().app, (ch) => ch.user('mem-a'));
  await fullGc();
  expect(requests).toHaveLength(1);
  expect(requests[0]!.deref()).toBeUndefined();
  // The subscription is intact: its events still execute and arrive.
  const sent = await t().run(SendNotificationMutation, { input: { userIds: ['mem-a'], type: 'm', title: 'after gc', body: '' } }, SERVICE);
  const id = sent.data!.sendNotification.notifications[0]!.id;
  const deadline = Date.now() + 5000;
  while (!ids.includes(id) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  expect(ids).toEqual([id]);
  await closeAll([socket]);
});

// 18.7 KB before the subscription's state was slimmed (upgrade request, context, send
// wrappers, closures), 14.6 KB after; a regression of a kilobyte or two per subscriber fails.
it('keeps under 16 KB of heap per idle notificationReceived subscriber (server and a bare client together)', async () => {
  const { ws: url } = await t().listen();
  // First use of every code path (compiled code, caches) is not billed per subscriber.
  const warm = await Promise.all(Array.from({ length: 5 }, async (_, i) => subscriber(url, await t().token(`mem-w${i}`))));
  for (let i = 0; i < 5; i++) await untilListening(t().app, (ch) => ch.user(`mem-w${i}`));
  await closeAll(warm);
  const N = 1000;
  const tokens = await Promise.all(Array.from({ length: N }, (_, i) => t().token(`mem-${i}`)));
  await fullGc();
  const before = process.memoryUsage().heapUsed;
  const sockets: WebSocket[] = [];
  for (let i = 0; i < N; i += 50) sockets.push(...(await Promise.all(tokens.slice(i, i + 50).map((tk) => subscriber(url, tk)))));
  for (let i = 0; i < N; i++) await untilListening(t().app, (ch) => ch.user(`mem-${i}`));
  await fullGc();
  const perSubscriber = (process.memoryUsage().heapUsed - before) / N;
  await closeAll(sockets);
  expect(perSubscriber).toBeGreaterThan(0);
  expect(perSubscriber).toBeLessThan(16 * 1024);
});
