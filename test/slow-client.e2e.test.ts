/**
 * Slow and dead clients. A WebSocket client that stops reading costs the server at most
 * MAX_BUFFERED_BYTES (plus a margin) before it is closed with 4008; it resumes with `after`
 * and has every notification exactly once. The server runs as a real process (from sources)
 * on the test Redis, so its RSS can be read from /proc. Dead peers (no pong) are dropped by
 * the keep-alive, healthy ones are not. SSE responses are bounded the same way.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { SendNotificationMutation } from '../src/client/operations.js';
import { createAuth } from '../src/server/auth.js';
import { SLOW_CONSUMER_CLOSE_CODE } from '../src/server/backpressure.js';
import { openEventStreams } from '../src/server/http-server.js';
import { SERVICE, useTestApp } from './helpers/app.js';
import { deleteByPrefix, redisUrl, uniquePrefix, withRedis } from './helpers/redis.js';
import { freePort } from './helpers/redis-server.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SECRET = 'slow-client-secret-slow-client-secret-00';
/** What the RSS, after a full GC, may grow beyond MAX_BUFFERED_BYTES while 5 000 sends pass through: heap and allocator slack (docs/guarantees.md). */
const RSS_MARGIN = 12 * 1024 * 1024;
/**
 * The RSS is read after a full GC (over the inspector), so it shows what is held, not garbage.
 * Measured: 0.6-6.9 MiB growth with the 1 MiB bound (more when the machine is busy), 19.2 MiB without it (MAX_BUFFERED_BYTES=1 GiB);
 * the loopback's kernel buffers take a few MB more, outside the process.
 */
const NODE_FLAGS = ['--max-semi-space-size=1', '--max-old-space-size=200', '--inspect=127.0.0.1:0'];
const MAX_BUFFERED = 1024 * 1024;
const redis = withRedis();
const children: ChildProcess[] = [];
const cleanups: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
  for (const f of cleanups.splice(0)) await f();
});

function startServer(env: Record<string, string>) {
  const child = spawn(process.execPath, [...NODE_FLAGS, '--import', 'tsx', 'src/main.ts'], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  return { child, output: () => out };
}

/** A full garbage collection in the child, over its inspector (the RSS then shows what is held, not garbage). */
async function collectGarbage(output: () => string) {
  const url = /Debugger listening on (ws:\/\/\S+)/.exec(output())![1]!;
  const ws = new WebSocket(url);
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  ws.send(JSON.stringify({ id: 1, method: 'HeapProfiler.collectGarbage' }));
  await new Promise((resolve) => ws.once('message', resolve));
  ws.close();
}

async function until(cond: () => Promise<boolean> | boolean, what: string, timeoutMs = 20_000) {
  const start = Date.now();
  while (!(await cond())) {
    if (Date.now() - start > timeoutMs) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const rssOf = (pid: number) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024;

interface Frame {
  id?: string;
  type: string;
  payload?: any;
}

/** A graphql-transport-ws connection spoken by hand over `ws`, so the test can stop reading its TCP socket. */
async function connect(url: string, token: string, opts: { autoPong?: boolean } = {}) {
  const socket = new WebSocket(url, 'graphql-transport-ws', { autoPong: opts.autoPong ?? true });
  const frames: Frame[] = [];
  const waiters = new Set<() => void>();
  const closed = new Promise<{ code: number; reason: string }>((resolve) => socket.once('close', (code, reason) => resolve({ code, reason: String(reason) })));
  socket.on('message', (data) => {
    frames.push(JSON.parse(String(data)) as Frame);
    for (const w of waiters) w();
  });
  const waitFor = (pred: (f: Frame[]) => boolean, what: string, timeoutMs = 10_000) =>
    new Promise<void>((resolve, reject) => {
      const check = () => {
        if (!pred(frames)) return;
        waiters.delete(check);
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => (waiters.delete(check), reject(new Error(`${what}: not within ${timeoutMs} ms (${frames.length} frames)`))), timeoutMs);
      waiters.add(check);
      check();
    });
  await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
  socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } }));
  await waitFor((f) => f.some((x) => x.type === 'connection_ack'), 'ack');
  return {
    socket,
    frames,
    closed,
    waitFor,
    subscribe(id: string, query: string, variables: Record<string, unknown> = {}) {
      socket.send(JSON.stringify({ id, type: 'subscribe', payload: { query, variables } }));
    },
    /** stops reading the TCP socket: the kernel buffers fill and the server's writes back up */
    pause: () => socket.pause(),
    resume: () => socket.resume(),
  };
}

const INBOX = 'subscription($after: String) { inbox(after: $after) { notification { id body } replayComplete } }';
const inboxEvents = (frames: Frame[]) => frames.filter((f) => f.type === 'next').map((f) => f.payload.data.inbox as { notification: { id: string } | null; replayComplete: boolean | null });

describe('a WebSocket client that stops reading', () => {
  it('costs at most MAX_BUFFERED_BYTES plus a margin, is closed with 4008, and resumes with every notification exactly once', { timeout: 180_000 }, async () => {
    const prefix = uniquePrefix();
    cleanups.push(() => deleteByPrefix(redis, prefix));
    const port = await freePort();
    const server = startServer({
      PORT: String(port), HOST: '127.0.0.1', REDIS_URL: redisUrl(), REDIS_KEY_PREFIX: prefix, JWT_SECRET: SECRET,
      SCHEDULER_ENABLED: 'false', DELIVERY_WORKER_ENABLED: 'false', LOG_LEVEL: 'warn',
      INBOX_CAP: '5000', MAX_BUFFERED_BYTES: String(MAX_BUFFERED),
      // The paused client can't answer pings either; the keep-alive must not be what closes it.
      WS_KEEPALIVE_MS: '600000',
    });
    await until(async () => (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => null))?.status === 200, `start (${server.output()})`);
    const auth = createAuth(SECRET);
    const service = `Bearer ${await auth.sign({ sub: 'svc', roles: ['service'] })}`;
    const token = await auth.sign({ sub: 'slow', roles: ['user'] });
    const url = `ws://127.0.0.1:${port}/graphql`;

    const slow = await connect(url, token);
    slow.subscribe('1', INBOX);
    await slow.waitFor((f) => inboxEvents(f).length === 1, 'attached');
    slow.pause();

    const pid = server.child.pid!;
    await collectGarbage(server.output);
    const before = rssOf(pid);
    const body = 'x'.repeat(4096);
    const ids: string[] = [];
    const send = async (i: number) => {
      const res = await fetch(`http://127.0.0.1:${port}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: service },
        body: JSON.stringify({
          query: 'mutation($i: SendNotificationInput!) { sendNotification(input: $i) { notifications { id } } }',
          variables: { i: { userIds: ['slow'], type: 'bulk', title: `n${i}`, body } },
        }),
      });
      const r = (await res.json()) as { data?: any; errors?: unknown };
      if (!r.data) throw new Error(JSON.stringify(r.errors));
      ids.push(r.data.sendNotification.notifications[0].id as string);
    };
    const N = 5000;
    let next = 0;
    await Promise.all(Array.from({ length: 16 }, async () => {
      while (next < N) await send(next++);
    }));
    // The last sends' events reach the socket a moment after they are acknowledged.
    await new Promise((r) => setTimeout(r, 500));
    // What the server holds now, with the client still not reading.
    await collectGarbage(server.output);
    const growth = rssOf(pid) - before;
    console.log(`slow client: RSS ${Math.round(before / 1048576)} MiB before, growth ${(growth / 1048576).toFixed(1)} MiB after a full GC (bound ${MAX_BUFFERED / 1048576} MiB + margin ${RSS_MARGIN / 1048576} MiB)`);
    expect(growth).toBeLessThan(MAX_BUFFERED + RSS_MARGIN);

    slow.resume();
    const close = await slow.closed;
    expect(close).toEqual({ code: SLOW_CONSUMER_CLOSE_CODE, reason: 'slow consumer' });
    const first = inboxEvents(slow.frames).flatMap((e) => (e.notification ? [e.notification.id] : []));
    expect(first.length).toBeGreaterThan(0);
    expect(first.length).toBeLessThan(N);

    const again = await connect(url, token);
    again.subscribe('2', INBOX, { after: first.at(-1) });
    await again.waitFor((f) => inboxEvents(f).some((e) => e.replayComplete !== null), 'replay marker', 60_000);
    const events = inboxEvents(again.frames);
    expect(events.at(-1)!.replayComplete).toBe(true);
    const replayed = events.flatMap((e) => (e.notification ? [e.notification.id] : []));
    const all = [...first, ...replayed];
    expect(new Set(all).size).toBe(all.length);
    expect([...all].sort()).toEqual([...ids].sort());
    again.socket.close();
  });
});

describe('dead peers', () => {
  const KEEPALIVE_MS = 300;
  const app = useTestApp('memory', { wsKeepAliveMs: KEEPALIVE_MS });

  it('a client that stops answering pings is closed within two keep-alive periods; one that answers stays', { timeout: 20_000 }, async () => {
    const t = app();
    const { ws: url } = await t.listen();
    const token = await t.token('peer');
    const healthy = await connect(url, token);
    // Reads everything but never answers a ping: to the server, a peer that is gone.
    const dead = await connect(url, token, { autoPong: false });
    expect(t.app.ws.connections()).toBe(2);
    const start = Date.now();
    const close = await dead.closed;
    const after = Date.now() - start;
    expect(close.code).toBe(1006); // terminated, no close handshake
    expect(after).toBeLessThan(2 * KEEPALIVE_MS + 1000);
    await until(() => t.app.ws.connections() === 1, 'server let go of the dead peer', 2000);
    // Several more periods later the healthy one is still there.
    await new Promise((r) => setTimeout(r, 3 * KEEPALIVE_MS));
    expect(healthy.socket.readyState).toBe(WebSocket.OPEN);
    healthy.socket.close();
  });
});

describe('an SSE client that stops reading', () => {
  const app = useTestApp('memory', { cap: 1000, maxBufferedBytes: 64 * 1024 });

  it('has its response ended once more than MAX_BUFFERED_BYTES wait to be written', { timeout: 60_000 }, async () => {
    const t = app();
    const { http: httpUrl } = await t.listen();
    const token = await t.token('sse');
    const { port } = new URL(httpUrl);
    const socket = net.connect(Number(port), '127.0.0.1');
    await new Promise((r) => socket.once('connect', r));
    const query = encodeURIComponent('subscription { notificationReceived { id body } }');
    socket.write(`GET /graphql?query=${query} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\nAuthorization: Bearer ${token}\r\n\r\n`);
    let head = '';
    await new Promise<void>((resolve) => {
      const onData = (d: Buffer) => {
        head += String(d);
        if (head.includes('\r\n\r\n')) {
          socket.off('data', onData);
          resolve();
        }
      };
      socket.on('data', onData);
    });
    expect(head).toMatch(/^HTTP\/1.1 200/);
    socket.pause();
    const ended = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    const body = 'y'.repeat(4096);
    let sent = 0;
    // 64 KiB bound plus the kernel's socket buffers (a few MB on loopback): well under 3 000 of 4 KB.
    while (openEventStreams(t.app.server) > 0 && sent < 3000) {
      const r = await t.run(SendNotificationMutation, { input: { userIds: ['sse'], type: 'bulk', title: `n${sent}`, body } }, SERVICE);
      expect(r.errors).toBeUndefined();
      sent++;
      if (sent % 50 === 0) await new Promise((r) => setImmediate(r));
    }
    socket.resume();
    await ended;
    expect(sent).toBeLessThan(3000);
    expect(openEventStreams(t.app.server)).toBe(0);
  });
});
