/**
 * Rate and connection limits over real HTTP and real WebSockets: mutations per principal
 * (shared by instances through Redis), open connections per user and per instance, request
 * body size. docs/api.md, "Rate and connection limits".
 */
import { print } from 'graphql';
import { createClient, type Client } from 'graphql-ws';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { MarkAllReadMutation } from '../src/client/operations.js';
import { openEventStreams } from '../src/server/http-server.js';
import { CLOSE_INSTANCE_FULL, CLOSE_USER_FULL } from '../src/server/websocket.js';
import { ADMIN, BACKENDS, SERVICE, asUser, useTestApp } from './helpers/app.js';
import { subscribe, wsClient } from './helpers/ws.js';

/** With `origin`, a browser's request, which yoga answers itself (not the HTTP fast path). */
async function post(url: string, token: string, query: string, variables: Record<string, unknown> = {}, origin?: string) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, ...(origin ? { origin } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  return { status: res.status, retryAfter: res.headers.get('retry-after'), body: (await res.json()) as { data?: any; errors?: any[] } };
}

/** `n` aliased markAllRead fields in one mutation: a mutation costing n. */
const markAllRead = (n: number) => `mutation { ${Array.from({ length: n }, (_, i) => `m${i}: markAllRead`).join(' ')} }`;

describe.each(BACKENDS)('mutation rate limit (%s)', (backend) => {
  const t = useTestApp(backend, { clock: 'real', limits: { rateLimits: { service: 2, user: 5 } } });

  it('allows the rate plus a burst of the same again, then refuses with RATE_LIMITED, 429 and Retry-After', async () => {
    const url = (await t().listen()).http;
    const token = await t().token('u1');
    // 5 per second, and a burst allowance of 5 more: 10 in all.
    expect((await post(url, token, markAllRead(5))).body).toEqual({ data: Object.fromEntries(Array.from({ length: 5 }, (_, i) => [`m${i}`, 0])) });
    expect((await post(url, token, markAllRead(5))).body.errors).toBeUndefined();
    const refused = await post(url, token, markAllRead(1));
    expect(refused.status).toBe(429);
    expect(Number(refused.retryAfter)).toBeGreaterThanOrEqual(1);
    expect(refused.body.data).toBeUndefined();
    expect(refused.body.errors).toEqual([
      { message: expect.stringMatching(/^Too many mutations/), extensions: { code: 'RATE_LIMITED', retryAfterSeconds: Number(refused.retryAfter) } },
    ]);
    // Another principal has a budget of its own; queries are not counted.
    expect((await post(url, await t().token('u2'), markAllRead(1))).body.errors).toBeUndefined();
    expect((await post(url, token, '{ me { id } }')).body).toEqual({ data: { me: { id: 'u1' } } });
  });

  it('counts the mutations yoga answers itself (a browser request) in the same budget', async () => {
    const url = (await t().listen()).http;
    const token = await t().token('browser');
    const fromBrowser = (query: string) => post(url, token, query, {}, 'http://app.example');
    expect((await post(url, token, markAllRead(5))).body.errors).toBeUndefined();
    expect((await fromBrowser(markAllRead(5))).body.errors).toBeUndefined();
    const refused = await fromBrowser(markAllRead(1));
    expect(refused.status).toBe(429);
    expect(refused.body.errors?.map((e) => e.extensions.code)).toEqual(['RATE_LIMITED']);
  });

  it('refuses a whole operation over the budget: none of its mutations runs', async () => {
    const url = (await t().listen()).http;
    await t().run(MarkAllReadMutation, {}, asUser('victim')); // as a user: creates the inbox; costs the user's budget only
    const send = (i: number) => `s${i}: sendNotification(input: { userIds: ["victim"], type: "t", title: "hello ${i}", body: "" }) { notifications { id } }`;
    // Service principals: 2 per second (+2 burst); three sends at once cost 3 > 2 in either bucket.
    const r = await post(url, await t().token(SERVICE.sub, SERVICE.roles), `mutation { ${[0, 1, 2].map(send).join(' ')} }`);
    expect(r.body.errors?.map((e) => e.extensions.code)).toEqual(['RATE_LIMITED']);
    expect((await post(url, await t().token('victim'), '{ me { unreadCount } }')).body).toEqual({ data: { me: { unreadCount: 0 } } });
    // An admin has a service principal's budget of its own.
    const ok = await post(url, await t().token(ADMIN.sub, ADMIN.roles), `mutation { ${[0, 1].map(send).join(' ')} }`);
    expect(ok.body.errors).toBeUndefined();
    expect((await post(url, await t().token('victim'), '{ me { unreadCount } }')).body).toEqual({ data: { me: { unreadCount: 2 } } });
  });

  it('counts mutations sent over WebSocket; the error carries retryAfterSeconds (no HTTP details)', async () => {
    const { ws } = await t().listen();
    const { client } = wsClient(ws, await t().token('wsuser'));
    const run = (query: string) =>
      new Promise<{ errors?: readonly unknown[] }>((resolve, reject) => client.subscribe({ query }, { next: resolve, error: reject, complete: () => {} }));
    // Few round trips, so all of them fall in one 1 s window even on a busy machine.
    expect((await run(markAllRead(5))).errors).toBeUndefined();
    expect((await run(markAllRead(5))).errors).toBeUndefined();
    expect((await run(markAllRead(1))).errors).toEqual([
      { message: expect.stringMatching(/^Too many mutations/), extensions: { code: 'RATE_LIMITED', retryAfterSeconds: expect.any(Number) } },
    ]);
  });
});

describe('mutation rate limit across instances (redis)', () => {
  const t = useTestApp('redis', { clock: 'real', limits: { rateLimits: { service: 20_000, user: 5 } } });

  it('two instances on one Redis share one budget per principal', async () => {
    const [a, b] = [(await t(0).listen()).http, (await t(1).listen()).http];
    const token = await t(0).token('roamer');
    expect((await post(a, token, markAllRead(5))).body.errors).toBeUndefined();
    expect((await post(b, token, markAllRead(5))).body.errors).toBeUndefined();
    expect((await post(b, token, markAllRead(1))).body.errors?.[0].extensions.code).toBe('RATE_LIMITED');
    expect((await post(a, token, markAllRead(1))).body.errors?.[0].extensions.code).toBe('RATE_LIMITED');
  });

});

describe('a limit of 0', () => {
  const t = useTestApp('redis', { clock: 'real', limits: { rateLimits: { service: 20_000, user: 0 } } });

  it('turns that limit off', async () => {
    const url = (await t().listen()).http;
    for (let i = 0; i < 3; i++) expect((await post(url, await t().token('free'), markAllRead(50))).body.errors).toBeUndefined();
  });
});

// ---------------------------------------------------------------------------------------------

const clients: Client[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.dispose()));
});

/** Opens a graphql-ws connection; resolves once acknowledged, or with the close code and reason. */
function connect(url: string, token: string) {
  return new Promise<{ client: Client; outcome: 'connected' | { code: number; reason: string } }>((resolve) => {
    const client: Client = createClient({
      url,
      webSocketImpl: WebSocket,
      lazy: false,
      retryAttempts: 0,
      connectionParams: { authorization: `Bearer ${token}` },
      onNonLazyError: () => {},
      on: {
        connected: () => resolve({ client, outcome: 'connected' }),
        closed: (e) => resolve({ client, outcome: { code: (e as CloseEvent).code, reason: (e as CloseEvent).reason } }),
      },
    });
    clients.push(client);
  });
}

describe('connection limits', () => {
  const t = useTestApp('memory', { clock: 'real', limits: { connectionLimits: { perUser: 2, total: 4 } } });

  it('refuses a user’s connection over MAX_CONNECTIONS_PER_USER with 4430; a closed one frees its slot', async () => {
    const { ws } = await t().listen();
    const alice = await t().token('alice');
    const first = await connect(ws, alice);
    expect(first.outcome).toBe('connected');
    expect((await connect(ws, alice)).outcome).toBe('connected');
    expect((await connect(ws, alice)).outcome).toEqual({ code: CLOSE_USER_FULL, reason: 'too many connections for this user (limit 2)' });
    // Other users are not affected.
    expect((await connect(ws, await t().token('bob'))).outcome).toBe('connected');
    await first.client.dispose();
    await until(() => t().app.ws.connections() === 2);
    expect((await connect(ws, alice)).outcome).toBe('connected');
  });

  it('counts a user’s SSE streams with the WebSockets; an SSE stream over the limit gets 429', async () => {
    const { ws, http } = await t().listen();
    const carol = await t().token('carol');
    const controller = new AbortController();
    const sse = await sseStream(http, carol, controller.signal);
    expect(sse.status).toBe(200);
    try {
      expect((await connect(ws, carol)).outcome).toBe('connected');
      expect((await connect(ws, carol)).outcome).toEqual({ code: CLOSE_USER_FULL, reason: 'too many connections for this user (limit 2)' });
      const refused = await sseStream(http, carol);
      expect(refused.status).toBe(429);
      expect(await refused.json()).toEqual({ errors: [{ message: 'Too many connections for this user (limit 2).', extensions: { code: 'CONNECTION_LIMIT' } }] });
    } finally {
      controller.abort();
    }
    // The closed stream gives its slot back.
    await until(() => openEventStreams(t().app.server) === 0);
    expect((await connect(ws, carol)).outcome).toBe('connected');
  });

  it('refuses connections over MAX_CONNECTIONS with 1013, counting SSE streams, and SSE over it with 503', async () => {
    const { ws, http } = await t().listen();
    const tokens = await Promise.all(['u1', 'u2', 'u3', 'u4', 'u5'].map((u) => t().token(u)));
    for (const token of tokens.slice(0, 3)) expect((await connect(ws, token)).outcome).toBe('connected');
    // The fourth connection is an SSE stream.
    const controller = new AbortController();
    const sse = await sseStream(http, tokens[3]!, controller.signal);
    expect(sse.status).toBe(200);
    try {
      expect((await connect(ws, tokens[4]!)).outcome).toEqual({ code: CLOSE_INSTANCE_FULL, reason: 'server connection limit reached (4); try again later' });
      const refused = await sseStream(http, tokens[4]!);
      expect(refused.status).toBe(503);
      expect(await refused.json()).toEqual({ errors: [{ message: 'Server connection limit reached (4); try again later.', extensions: { code: 'CONNECTION_LIMIT' } }] });
    } finally {
      controller.abort();
    }
  });
});

function sseStream(http: string, token: string, signal?: AbortSignal) {
  return fetch(http, {
    method: 'POST',
    signal,
    headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query: 'subscription { unreadCountChanged }' }),
  });
}

async function until(cond: () => boolean, timeoutMs = 5000) {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > timeoutMs) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('request size', () => {
  const t = useTestApp('memory', { clock: 'real', limits: { maxBodyBytes: 4096 } });
  const tooLarge = { errors: [{ message: 'Request body is larger than 4096 bytes.', extensions: { code: 'PAYLOAD_TOO_LARGE', maxBytes: 4096 } }] };
  const padded = (bytes: number) => JSON.stringify({ query: `{ me { id } } # ${'x'.repeat(bytes)}` });

  it('refuses a body over MAX_BODY_BYTES with 413 (declared length), and serves one under it', async () => {
    const { http } = await t().listen();
    const headers = { 'content-type': 'application/json', authorization: `Bearer ${await t().token('big')}` };
    const over = await fetch(http, { method: 'POST', headers, body: padded(5000) });
    expect(over.status).toBe(413);
    expect(await over.json()).toEqual(tooLarge);
    const under = await fetch(http, { method: 'POST', headers, body: padded(3000) });
    expect(await under.json()).toEqual({ data: { me: { id: 'big' } } });
  });

  it('counts a chunked body as it arrives', async () => {
    const { http } = await t().listen();
    const headers = { 'content-type': 'application/json', authorization: `Bearer ${await t().token('chunky')}` };
    const stream = (text: string) =>
      new ReadableStream<Uint8Array>({
        start(c) {
          const bytes = new TextEncoder().encode(text);
          for (let i = 0; i < bytes.length; i += 1000) c.enqueue(bytes.slice(i, i + 1000));
          c.close();
        },
      });
    const over = await fetch(http, { method: 'POST', headers, body: stream(padded(5000)), duplex: 'half' } as RequestInit);
    expect(over.status).toBe(413);
    expect(await over.json()).toEqual(tooLarge);
    const under = await fetch(http, { method: 'POST', headers, body: stream(padded(3000)), duplex: 'half' } as RequestInit);
    expect(await under.json()).toEqual({ data: { me: { id: 'chunky' } } });
  });

  it('closes a WebSocket whose message is over MAX_BODY_BYTES with 1009', async () => {
    const { ws } = await t().listen();
    const { client, closed } = wsClient(ws, await t().token('wsbig'));
    client.subscribe({ query: `${print(MarkAllReadMutation)} # ${'x'.repeat(5000)}` }, { next() {}, error() {}, complete() {} });
    expect((await closed).code).toBe(1009);
  });
});
