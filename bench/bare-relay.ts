/**
 * The floor for the paced fan-out: a bare `ws` relay (no GraphQL, no Redis) that sends every
 * message a client publishes to every other client, measured with the same sockets, rate and
 * clock as the server, in the same run. The issue quotes such a relay at p99 53 ms on this
 * kind of machine; measuring it here says how far the server is from what the host allows.
 *
 *   node --import tsx bench/bare-relay.ts <port>    (the relay process; prints "ready")
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import WebSocket, { WebSocketServer } from 'ws';
import { messageNumber, pacedSends, percentile } from './ws-load.js';
import { freePort } from '../test/helpers/redis-server.js';

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  // The broadcast example of ws's README.
  const wss = new WebSocketServer({ port: Number(process.argv[2]), host: '127.0.0.1', perMessageDeflate: false });
  wss.on('connection', (ws) => {
    ws.on('message', (data, isBinary) => {
      for (const client of wss.clients) if (client !== ws && client.readyState === WebSocket.OPEN) client.send(data, { binary: isBinary });
    });
  });
  wss.on('listening', () => console.log('ready'));
}

/** Paced publishes through the relay to `subscribers` sockets: publish -> receipt p50/p99. */
export async function pacedBareRelay(subscribers: number, rate: number, seconds: number): Promise<{ p50: number; p99: number; delivered: number; expected: number }> {
  const port = await freePort();
  const relay = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), String(port)], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    await new Promise<void>((resolve, reject) => {
      relay.stdout!.on('data', (d: Buffer) => String(d).includes('ready') && resolve());
      relay.once('exit', (code) => reject(new Error(`relay exited with ${code}`)));
    });
    const open = () =>
      new Promise<WebSocket>((resolve, reject) => {
        const ws = new WebSocket(`ws://127.0.0.1:${port}`, { perMessageDeflate: false });
        ws.once('open', () => resolve(ws));
        ws.once('error', reject);
      });
    const sentAt = new Map<number, number>();
    const latencies: number[] = [];
    let delivered = 0;
    const sockets: WebSocket[] = [];
    for (let i = 0; i < subscribers; i += 200) sockets.push(...(await Promise.all(Array.from({ length: Math.min(200, subscribers - i) }, open))));
    for (const s of sockets) {
      s.on('message', (frame: Buffer) => {
        const i = messageNumber(frame);
        delivered++;
        const sent = sentAt.get(i);
        if (sent !== undefined) latencies.push(performance.now() - sent);
      });
    }
    const publisher = await open();
    // A frame the size of the server's `next` frame for a topic event.
    const frame = (i: number) => JSON.stringify({ id: '1', type: 'next', payload: { data: { topic: { topic: 'bench', payload: { i }, publishedAt: new Date().toISOString() } } } });
    const perSec = rate / subscribers;
    const total = Math.round(perSec * seconds);
    const start = await pacedSends(perSec, total, (k, now) => {
      sentAt.set(k, now);
      publisher.send(frame(k));
    });
    while (delivered < total * subscribers && performance.now() - start < seconds * 1000 + 30_000) await new Promise((r) => setTimeout(r, 5));
    for (const s of [...sockets, publisher]) s.close();
    latencies.sort((a, b) => a - b);
    return { p50: percentile(latencies, 50), p99: percentile(latencies, 99), delivered, expected: total * subscribers };
  } finally {
    relay.kill();
  }
}
