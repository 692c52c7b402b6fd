/**
 * The floor every hot-path figure is compared with: a bare `ws` + ioredis relay
 * (bench/relay-server.ts, compiled by `npm run build` like the server) doing the same storage
 * and delivery without GraphQL, measured with the same sockets, rate and clock as the server,
 * in the same run. This file starts it and speaks its protocol; bench/hot-paths.ts and
 * bench/fanout.ts use it.
 */
import { spawn } from 'node:child_process';
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';
import { messageNumber, pacedSends, percentile } from './ws-load.js';
import { procStats, stopChild, type ServerProcess } from './server-process.js';
import { freePort } from '../test/helpers/redis-server.js';
import type { BenchRedis } from './redis-server.js';

const RELAY = fileURLToPath(new URL('../dist/bench/relay-server.js', import.meta.url));

export interface RelayProcess extends Pick<ServerProcess, 'rssBytes' | 'cpuMs' | 'openFds'> {
  pid: number;
  /** POST here: `{"userId","type","title","body"}` */
  sendUrl: string;
  ws: string;
  stop(): Promise<void>;
}

/** Starts the compiled relay (`npm run bench` builds it) on a free port, on the bench's Redis (one node or the cluster), keys under `prefix`. */
export async function startRelay(redis: Pick<BenchRedis, 'url'>, prefix: string): Promise<RelayProcess> {
  const port = await freePort();
  const nodeArgs = (process.env.BENCH_RELAY_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...nodeArgs, RELAY, String(port), redis.url, prefix], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => String(d).includes('ready') && resolve());
    child.once('exit', (code) => reject(new Error(`relay exited with ${code} (is dist/bench/relay-server.js built? npm run build)`)));
  });
  return {
    pid: child.pid!,
    sendUrl: `http://127.0.0.1:${port}/send`,
    ws: `ws://127.0.0.1:${port}/`,
    ...procStats(child.pid!),
    stop: () => stopChild(child, 3000),
  };
}

/** A relay socket on `?user=` or `?topic=`, resolved once its Redis subscription is live. */
export function relaySocket(url: string, query: string, onFrame: (frame: Buffer) => void): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${url}?${query}`, { perMessageDeflate: false });
    let ready = false;
    ws.on('message', (data: Buffer) => {
      if (ready) return onFrame(data);
      ready = true;
      resolve(ws);
    });
    ws.once('error', reject);
  });
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 128 });

/** One per-user send over the relay's HTTP endpoint; resolves with the stored id. */
export function relaySendHttp(url: string, userId: string, title: string): Promise<string> {
  const body = JSON.stringify({ userId, type: 'task_assigned', title, body: 'bench' });
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        try {
          resolve((JSON.parse(Buffer.concat(chunks).toString('utf8')) as any).data.sendNotification.notifications[0].id as string);
        } catch (err) {
          reject(err);
        }
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** A WebSocket to the relay that sends per-user notifications, answered like a graphql-ws `next`. */
export async function relaySender(url: string): Promise<{ send(userId: string, title: string): Promise<string>; close(): void }> {
  const waiting = new Map<string, (id: string) => void>();
  const ws = await relaySocket(url, '', (frame) => {
    const msg = JSON.parse(String(frame)) as { id: string; payload: any };
    waiting.get(msg.id)?.(msg.payload.data.sendNotification.notifications[0].id as string);
    waiting.delete(msg.id);
  });
  let next = 0;
  return {
    send(userId, title) {
      const id = String(++next);
      return new Promise((resolve) => {
        waiting.set(id, resolve);
        ws.send(JSON.stringify({ id, type: 'send', payload: { userId, type: 'task_assigned', title, body: 'bench' } }));
      });
    },
    close: () => ws.close(),
  };
}

/** A frame's payload the size of the server's topic event. */
export const topicPayload = (i: number) => ({ topic: 'bench', payload: { i }, publishedAt: new Date().toISOString() });

/**
 * Paced publishes through the relay to `subscribers` topic sockets: publish -> receipt p50/p99,
 * and the relay's CPU per delivery over the paced run.
 */
export async function pacedBareRelay(
  relay: RelayProcess,
  subscribers: number,
  rate: number,
  seconds: number,
): Promise<{ p50: number; p99: number; delivered: number; expected: number; cpuPerDeliveryUs: number }> {
  const sentAt = new Map<number, number>();
  const latencies: number[] = [];
  let delivered = 0;
  const onFrame = (frame: Buffer) => {
    const i = messageNumber(frame);
    if (i < 0) return;
    delivered++;
    const sent = sentAt.get(i);
    if (sent !== undefined) latencies.push(performance.now() - sent);
  };
  const sockets: WebSocket[] = [];
  for (let i = 0; i < subscribers; i += 200) sockets.push(...(await Promise.all(Array.from({ length: Math.min(200, subscribers - i) }, () => relaySocket(relay.ws, 'topic=bench', onFrame)))));
  const publisher = await relaySocket(relay.ws, '', () => {});
  const publish = (i: number) => publisher.send(JSON.stringify({ type: 'publish', topic: 'bench', payload: topicPayload(i) }));
  // A short warm-up at the same rate, so the relay's code is optimised as the server's is.
  for (let w = 1; w <= 20; w++) {
    publish(-w);
    await new Promise((r) => setTimeout(r, 20));
  }
  await new Promise((r) => setTimeout(r, 500));
  const perSec = rate / subscribers;
  const total = Math.round(perSec * seconds);
  const cpu0 = relay.cpuMs();
  const start = await pacedSends(perSec, total, (k, now) => {
    sentAt.set(k, now);
    publish(k);
  });
  while (delivered < total * subscribers && performance.now() - start < seconds * 1000 + 30_000) await new Promise((r) => setTimeout(r, 5));
  const cpuPerDeliveryUs = ((relay.cpuMs() - cpu0) * 1000) / Math.max(1, delivered);
  for (const s of [...sockets, publisher]) s.close();
  latencies.sort((a, b) => a - b);
  return { p50: percentile(latencies, 50), p99: percentile(latencies, 99), delivered, expected: total * subscribers, cpuPerDeliveryUs };
}
