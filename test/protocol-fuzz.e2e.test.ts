/**
 * Hostile input at the protocol level: graphql-ws frames and SSE requests that no client
 * should send. The server answers each with the protocol's own code, never crashes, never
 * answers 5xx and never shows a stack; it serves normally afterwards.
 */
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { MAX_WS_MESSAGE_BYTES } from '../src/server/websocket.js';
import { useTestApp } from './helpers/app.js';
import { prng } from './helpers/prng.js';

const sockets: WebSocket[] = [];
afterEach(() => {
  for (const s of sockets.splice(0)) s.terminate();
});

/** A raw graphql-transport-ws connection; `closed` resolves with the server's close code and reason. */
async function open(url: string) {
  const socket = new WebSocket(url, 'graphql-transport-ws');
  sockets.push(socket);
  const messages: any[] = [];
  socket.on('message', (d) => messages.push(JSON.parse(String(d))));
  socket.on('error', () => {});
  const closed = new Promise<{ code: number; reason: string }>((resolve) => socket.once('close', (code, reason) => resolve({ code, reason: String(reason) })));
  await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
  return { socket, messages, closed, send: (m: unknown) => socket.send(typeof m === 'string' ? m : JSON.stringify(m)) };
}

async function until(cond: () => boolean, what: string, timeoutMs = 5000) {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > timeoutMs) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}


const noStack = (text: string) => expect(text).not.toMatch(/\bat .+\(.*:\d+:\d+\)|node_modules|\.ts:\d+/);

describe('graphql-ws protocol fuzz', () => {
  const app = useTestApp('memory');
  const init = async (url: string, token: string) => {
    const c = await open(url);
    c.send({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } });
    await until(() => c.messages.some((m) => m.type === 'connection_ack'), 'ack');
    return c;
  };

  it('closes with the protocol codes: 4400 bad JSON or unknown type, 4401 subscribe before init, 4409 duplicate id, 4429 second init, 1009 too big', async () => {
    const t = app();
    const { ws: url } = await t.listen();
    const token = await t.token('fuzz');
    const cases: [string, (c: Awaited<ReturnType<typeof open>>) => void, number][] = [
      ['bad JSON', (c) => c.send('{"type": "connection_init", '), 4400],
      ['not an object', (c) => c.send('[1,2,3]'), 4400],
      ['unknown message type', (c) => c.send({ type: 'launch_missiles' }), 4400],
      ['subscribe before init', (c) => c.send({ id: '1', type: 'subscribe', payload: { query: '{ me { id } }' } }), 4401],
      ['subscribe without a payload', (c) => c.send({ id: '1', type: 'subscribe' }), 4400],
    ];
    for (const [what, act, code] of cases) {
      const c = await open(url);
      act(c);
      const close = await c.closed;
      expect(close.code, what).toBe(code);
      noStack(close.reason);
    }
    const dup = await init(url, token);
    const sub = { type: 'subscribe', payload: { query: 'subscription { unreadCountChanged }' } };
    dup.send({ id: 'same', ...sub });
    dup.send({ id: 'same', ...sub });
    expect((await dup.closed).code).toBe(4409);

    const twice = await init(url, token);
    twice.send({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } });
    expect((await twice.closed).code).toBe(4429);

    const big = await init(url, token);
    big.send({ id: '1', type: 'subscribe', payload: { query: `{ me { id } } #${'x'.repeat(10 * 1024 * 1024)}` } });
    expect((await big.closed).code).toBe(1009);
    expect(MAX_WS_MESSAGE_BYTES).toBeLessThan(10 * 1024 * 1024);

    const bad = await open(url);
    bad.send({ type: 'connection_init', payload: { authorization: 'Bearer not-a-token' } });
    expect((await bad.closed).code).toBe(4403);
  });

  it('answers a flood of pings with pongs and keeps serving', async () => {
    const t = app();
    const { ws: url } = await t.listen();
    const c = await init(url, await t.token('pinger'));
    for (let i = 0; i < 5000; i++) c.send({ type: 'ping' });
    await until(() => c.messages.filter((m) => m.type === 'pong').length === 5000, '5000 pongs');
    c.send({ id: 'q', type: 'subscribe', payload: { query: '{ me { id } }' } });
    await until(() => c.messages.some((m) => m.type === 'next' && m.id === 'q'), 'query after the flood');
    expect(c.messages.find((m) => m.type === 'next').payload.data.me.id).toBe('pinger');
    expect(c.socket.readyState).toBe(WebSocket.OPEN);
  });

  it('survives 200 seeded random frames: each connection closes with a protocol code or keeps working', async () => {
    const t = app();
    const { ws: url, http } = await t.listen();
    const token = await t.token('random');
    const rnd = prng(1414);
    const pick = <T,>(xs: T[]) => xs[Math.floor(rnd() * xs.length)]!;
    const junk = (): unknown =>
      pick<() => unknown>([
        () => null,
        () => Math.floor(rnd() * 1e12) - 5e11,
        () => 'x'.repeat(Math.floor(rnd() * 5000)),
        () => '\u0000\uffff\ud800 ☃ 🦄',
        () => [junk(), junk()],
        () => ({ query: '{ me { id } }' }),
        () => ({ query: pick(['', '{', 'subscription { nope }', '{ __typename }']), variables: junk() }),
        () => ({ [pick(['a', '__proto__', 'constructor'])]: junk() }),
      ])();
    const TYPES = ['connection_init', 'subscribe', 'complete', 'ping', 'pong', 'next', 'error', 'connection_ack', 'bogus', ''];
    for (let i = 0; i < 200; i++) {
      const c = await open(url);
      if (rnd() < 0.5) {
        c.send({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } });
        await until(() => c.messages.length > 0, 'ack');
      }
      const frames = 1 + Math.floor(rnd() * 4);
      for (let f = 0; f < frames; f++) {
        const frame = rnd() < 0.2 ? String(junk()) : JSON.stringify({ type: pick(TYPES), id: pick([undefined, '1', '', 7, null]), payload: junk() });
        c.send(frame);
      }
      c.send({ type: 'ping' });
      // Either a pong (still open) or a close with a code of the protocol's.
      const outcome = await Promise.race([c.closed, until(() => c.messages.some((m) => m.type === 'pong'), 'pong').then(() => null)]);
      if (outcome) {
        expect([4400, 4401, 4403, 4409, 4429, 1000, 1009], JSON.stringify(outcome)).toContain(outcome.code);
        noStack(outcome.reason);
      }
      for (const m of c.messages) if (m.type === 'error' || m.type === 'next') noStack(JSON.stringify(m.payload));
      c.socket.terminate();
    }
    expect((await fetch(http.replace('/graphql', '/healthz'))).status).toBe(200);
  });
});

describe('SSE protocol fuzz', () => {
  const app = useTestApp('memory');

  it('answers bad query strings, huge params, bad Accept and bad JSON bodies with 4xx or an error result, never 5xx or a stack', async () => {
    const t = app();
    const { http } = await t.listen();
    const auth = { authorization: `Bearer ${await t.token('sse-fuzz')}` };
    const sub = encodeURIComponent('subscription { unreadCountChanged }');
    const requests: [string, RequestInit & { path?: string }][] = [
      ['bad percent-encoding', { path: '?query=%E0%A4%A' }],
      ['empty query', { path: '?query=' }],
      ['variables not JSON', { path: `?query=${sub}&variables={nope` }],
      ['variables an array', { path: `?query=${sub}&variables=[1]` }],
      ['extensions not JSON', { path: `?query=${sub}&extensions=%7B` }],
      ['operationName for nothing', { path: `?query=${sub}&operationName=Nope` }],
      ['a mutation over GET', { path: `?query=${encodeURIComponent('mutation { markAllRead { count } }')}` }],
      ['huge query param (64 KB)', { path: `?query=${'a'.repeat(64 * 1024)}` }],
      ['huge variables (1 MB POST)', { method: 'POST', body: JSON.stringify({ query: 'subscription($x: String) { unreadCountChanged }', variables: { x: 'v'.repeat(1024 * 1024) } }) }],
      ['bad JSON body', { method: 'POST', body: '{"query": "subscription { unreadCountChanged }"' }],
      ['JSON body not an object', { method: 'POST', body: '"just a string"' }],
      ['NUL bytes in the body', { method: 'POST', body: '{"query": "\u0000\u0000"}' }],
      ['deep JSON body', { method: 'POST', body: `{"query":"{ me { id } }","variables":${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}}` }],
    ];
    const accepts = ['text/event-stream', 'text/event-stream;q=bogus;;', 'application/xml', '*/*;q=-1', '\u00ff\u00fe'.replace(/[^\x20-\x7e]/g, '?')];
    for (const [what, init] of requests) {
      for (const accept of accepts) {
        const controller = new AbortController();
        const res = await fetch(http + (init.path ?? ''), {
          method: init.method ?? 'GET',
          body: init.body,
          headers: { accept, 'content-type': 'application/json', ...auth },
          signal: controller.signal,
        });
        expect(res.status, `${what} (${accept})`).toBeLessThan(500);
        // A stream that opened is read up to its first event, then left.
        const reader = res.body!.getReader();
        const first = await reader.read();
        const text = first.value ? new TextDecoder().decode(first.value) : '';
        noStack(text);
        expect(text, `${what} (${accept})`).not.toContain('INTERNAL_SERVER_ERROR');
        controller.abort();
      }
    }
    expect((await fetch(http.replace('/graphql', '/healthz'))).status).toBe(200);
  });
});
