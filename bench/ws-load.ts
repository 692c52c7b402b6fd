/**
 * A lean graphql-transport-ws client for load generation: thousands of sockets in one process
 * without a full client library per socket.
 */
import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';

export interface LoadSocket {
  subscribe(query: string, variables: Record<string, unknown>, onNext: (payload: any) => void): void;
  /**
   * Like subscribe, but `onRaw` gets each `next` frame unparsed: a lean load generator for
   * fan-out runs, where parsing 400 000 frames would add the client's own CPU to the latency.
   * The socket must carry no other operation.
   */
  subscribeRaw(query: string, variables: Record<string, unknown>, onRaw: (frame: Buffer) => void): void;
  /** a query or mutation over the socket: resolves with its result */
  request(query: string, variables: Record<string, unknown>): Promise<any>;
  close(): void;
}

const NEXT = Buffer.from('"type":"next"');

export function connect(url: string, token: string): Promise<LoadSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, 'graphql-transport-ws', { perMessageDeflate: false });
    const handlers = new Map<string, (p: any) => void>();
    let raw: ((frame: Buffer) => void) | null = null;
    let nextId = 0;
    const sock: LoadSocket = {
      subscribe(query, variables, onNext) {
        const id = String(++nextId);
        handlers.set(id, onNext);
        ws.send(JSON.stringify({ id, type: 'subscribe', payload: { query, variables } }));
      },
      subscribeRaw(query, variables, onRaw) {
        raw = onRaw;
        ws.send(JSON.stringify({ id: String(++nextId), type: 'subscribe', payload: { query, variables } }));
      },
      request(query, variables) {
        return new Promise((resolve) => {
          const id = String(++nextId);
          handlers.set(id, (p) => {
            handlers.delete(id);
            resolve(p);
          });
          ws.send(JSON.stringify({ id, type: 'subscribe', payload: { query, variables } }));
        });
      },
      // Like a real client, a closed socket delivers nothing more: ws still emits the frames
      // that arrive during the closing handshake, which a resumed stream replays as well.
      close: () => {
        handlers.clear();
        raw = null;
        ws.close(1000);
      },
    };
    ws.on('open', () => ws.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } })));
    ws.on('message', (data: Buffer) => {
      if (raw && data.indexOf(NEXT) > 0) return raw(data);
      const msg = JSON.parse(String(data));
      if (msg.type === 'connection_ack') resolve(sock);
      else if (msg.type === 'next') handlers.get(msg.id)?.(msg.payload);
      else if (msg.type === 'ping') ws.send('{"type":"pong"}');
      else if (msg.type === 'error') reject(new Error(JSON.stringify(msg.payload)));
    });
    ws.on('close', (code, reason) => reject(new Error(`closed ${code} ${reason}`)));
    ws.on('error', reject);
  });
}

/** Opens n sockets with at most `parallel` handshakes in flight. */
export async function connectMany(n: number, url: string, tokenFor: (i: number) => Promise<string> | string, parallel = 200): Promise<LoadSocket[]> {
  const out: LoadSocket[] = new Array(n);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(parallel, n) }, async () => {
      while (next < n) {
        const i = next++;
        out[i] = await connect(url, await tokenFor(i));
      }
    }),
  );
  return out;
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

const I = Buffer.from('"i":');
/** The bench message number `{"i":N}` in a raw frame, read without parsing it (negative for warm-ups). */
export function messageNumber(frame: Buffer): number {
  const at = frame.indexOf(I) + 4;
  return frame[at] === 45 ? -1 : parseInt(frame.toString('latin1', at, at + 12), 10);
}

/** Calls `send(k, now)` for k = 0..total-1 at `perSec` per second, each at its due time; resolves with the start time. */
export async function pacedSends(perSec: number, total: number, send: (k: number, now: number) => void): Promise<number> {
  const start = performance.now();
  for (let k = 0; k < total; k++) {
    const wait = start + (k * 1000) / perSec - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    send(k, performance.now());
  }
  return start;
}

export const TOPIC_SUB = 'subscription($n:[String!]!){ topic(names:$n){ topic payload publishedAt } }';

/** What the subscribers of the `bench` topic received (see {@link trackTopic}). */
export interface TopicTracker {
  /** message number -> when it was published (the publisher fills it) */
  sentAt: Map<number, number>;
  /** publish -> receipt, ms, for numbers ≥ `from` */
  latencies: number[];
  delivered: number;
  /** warm-up receipts (negative numbers) */
  warm: number;
  lastDelivery: number;
  from: number;
}

/** Puts every socket on the `bench` topic and records what arrives, by message number. */
export function trackTopic(sockets: readonly LoadSocket[], from = 0): TopicTracker {
  const t: TopicTracker = { sentAt: new Map(), latencies: [], delivered: 0, warm: 0, lastDelivery: 0, from };
  for (const s of sockets) {
    s.subscribeRaw(TOPIC_SUB, { n: ['bench'] }, (frame) => {
      const i = messageNumber(frame);
      if (i < 0) return void t.warm++;
      t.delivered++;
      t.lastDelivery = performance.now();
      const sent = t.sentAt.get(i);
      if (sent !== undefined && i >= t.from) t.latencies.push(t.lastDelivery - sent);
    });
  }
  return t;
}

/** Subscriptions have no ack: publishes warm-ups (-1, -2, …) until each of `n` subscribers got one. */
export async function warmUpTopic(t: TopicTracker, n: number, publish: (i: number) => unknown): Promise<void> {
  for (let w = 1; t.warm < n; w++) {
    t.warm = 0;
    await publish(-w);
    await new Promise((r) => setTimeout(r, 200));
    if (w > 50) throw new Error(`only ${t.warm}/${n} topic subscribers are live`);
  }
}
