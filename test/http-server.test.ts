import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { GraphQLObjectType, GraphQLSchema, GraphQLString } from 'graphql';
import { createSchema, createYoga } from 'graphql-yoga';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../src/logger.js';
import { graphiqlOptions, renderGraphiQL } from '../src/server/graphiql.js';
import { closeHttpServer, createHttpServer, READY_TIMEOUT_MS } from '../src/server/http-server.js';

const logger = createLogger('silent');

async function listen(server: http.Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** What the readiness probe does next. */
let readiness: 'ready' | 'not-ready' | 'reject' | 'throw' | 'hang' = 'ready';
const ready = (): Promise<boolean> => {
  switch (readiness) {
    case 'ready':
      return Promise.resolve(true);
    case 'not-ready':
      return Promise.resolve(false);
    case 'reject':
      return Promise.reject(new Error('redis down'));
    case 'throw':
      throw new Error('sync failure');
    case 'hang':
      return new Promise(() => {});
  }
};

const yoga = createYoga({
  schema: createSchema({ typeDefs: 'type Query { a: Int }', resolvers: { Query: { a: () => 42 } } }),
  renderGraphiQL,
  graphiql: graphiqlOptions('dev.token.value'),
  logging: false,
});
const server = createHttpServer({ yoga, ready, logger });
let base = '';

beforeAll(async () => {
  base = await listen(server);
});
afterAll(async () => {
  await closeHttpServer(server, 1000);
});

describe('probes', () => {
  it('GET /healthz is 200 {"status":"ok"}, even when not ready', async () => {
    readiness = 'not-ready';
    const res = await fetch(`${base}/healthz`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await res.json()).toEqual({ status: 'ok' });
  });

  it('GET /readyz is 200 when ready() resolves true', async () => {
    readiness = 'ready';
    const res = await fetch(`${base}/readyz?probe=k8s`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ready' });
  });

  it.each(['not-ready', 'reject', 'throw'] as const)('GET /readyz is 503 when ready() is %s', async (mode) => {
    readiness = mode;
    const res = await fetch(`${base}/readyz`);
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ status: 'unavailable' });
  });

  it('GET /readyz is 503 after ~1 s when ready() hangs', async () => {
    readiness = 'hang';
    const started = Date.now();
    const res = await fetch(`${base}/readyz`);
    const elapsed = Date.now() - started;
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ status: 'unavailable' });
    expect(elapsed).toBeGreaterThanOrEqual(READY_TIMEOUT_MS - 50);
    expect(elapsed).toBeLessThan(READY_TIMEOUT_MS + 1500);
  });

  it('HEAD /healthz answers without a body', async () => {
    const res = await fetch(`${base}/healthz`, { method: 'HEAD' });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('');
  });
});

describe('keep-alive', () => {
  it("a connection idle for longer than Node's default (5 s, closed by 7 s) is still open for the next request", async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const get = () =>
      new Promise<{ status: number; reused: boolean }>((resolve, reject) => {
        const req = http.get(`${base}/healthz`, { agent }, (res) => {
          res.resume();
          res.on('end', () => resolve({ status: res.statusCode ?? 0, reused: req.reusedSocket }));
        });
        req.on('error', reject);
      });
    try {
      expect(await get()).toEqual({ status: 200, reused: false });
      await new Promise((r) => setTimeout(r, 7000));
      expect(await get()).toEqual({ status: 200, reused: true });
    } finally {
      agent.destroy();
    }
  }, 15_000);
});

describe('yoga pass-through', () => {
  it('serves a GraphQL POST', async () => {
    const res = await fetch(`${base}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
      body: JSON.stringify({ query: '{ a }' }),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ data: { a: 42 } });
  });

  it('POST /healthz is not a probe: it goes to yoga (404)', async () => {
    const res = await fetch(`${base}/healthz`, { method: 'POST', body: '{}' });
    expect(res.status).toBe(404);
  });

  it('serves an offline GraphiQL page: no CDN URLs, token pre-filled, SSE subscriptions', async () => {
    const res = await fetch(`${base}/graphql`, { headers: { accept: 'text/html' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await res.text();
    expect(html).toContain('YogaGraphiQL.renderYogaGraphiQL');
    expect(html.length).toBeGreaterThan(1_000_000); // the bundle is inlined, not fetched
    expect(html).not.toContain('unpkg.com');
    expect(html).not.toContain('cdn.jsdelivr.net');
    expect(html).not.toMatch(/<script[^>]*\bsrc=/i);
    expect(html).not.toMatch(/<link[^>]*href=["']?https?:/i);
    expect(html).toContain('"subscriptionsProtocol":"SSE"');
    expect(html).toContain('Bearer dev.token.value');
  });

  it('control: yoga without our renderer would load GraphiQL from unpkg', async () => {
    // Proves the assertions above can fail: the stock page is CDN-based (stack-notes §8).
    const stock = createYoga({ schema: createSchema({ typeDefs: 'type Query { a: Int }' }), logging: false });
    const res = await stock.fetch('http://localhost/graphql', { headers: { accept: 'text/html' } });
    expect(await res.text()).toContain('unpkg.com');
  });

  it('a schema built with the test-side graphql import works inside yoga (vitest alias, stack-notes §1)', async () => {
    // Without the alias, this buildSchema comes from graphql/index.mjs and yoga's from index.js:
    // "Cannot use GraphQLSchema from another module or realm".
    const schema = new GraphQLSchema({
      query: new GraphQLObjectType({ name: 'Query', fields: { b: { type: GraphQLString, resolve: () => 'same realm' } } }),
    });
    const y = createYoga({ schema, logging: false });
    const res = await y.fetch('http://localhost/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ b }' }),
    });
    expect(await res.json()).toEqual({ data: { b: 'same realm' } });
  });
});

describe('graphiqlOptions', () => {
  it('leaves headers alone without a token and keeps SSE', () => {
    const o = graphiqlOptions();
    expect(o.headers).toBeUndefined();
    expect(o.subscriptionsProtocol).toBe('SSE');
  });

  it('pre-fills the Authorization header and lets extras override', () => {
    const o = graphiqlOptions('abc', { defaultQuery: '{ a }' });
    expect(JSON.parse(o.headers!)).toEqual({ Authorization: 'Bearer abc' });
    expect(o.defaultHeaders).toBe(o.headers);
    expect(o.defaultQuery).toBe('{ a }');
  });
});

describe('closeHttpServer', () => {
  function slowServer() {
    let release: () => void = () => {};
    const gate = new Promise<number>((r) => (release = () => r(7)));
    // Resolves once a request is inside the resolver.
    let enter: () => void = () => {};
    const entered = new Promise<void>((r) => (enter = r));
    const slow = () => {
      enter();
      return gate;
    };
    const y = createYoga({
      schema: createSchema({ typeDefs: 'type Query { slow: Int }', resolvers: { Query: { slow } } }),
      logging: false,
    });
    return { server: createHttpServer({ yoga: y, ready: async () => true, logger }), release, entered };
  }

  function get(url: string, agent: http.Agent): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      http
        .get(url, { agent }, (res) => {
          let body = '';
          res.on('data', (d) => (body += d));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        })
        .on('error', reject);
    });
  }

  it('closes idle keep-alive connections at once (no forced close)', async () => {
    const { server: s } = slowServer();
    const url = await listen(s);
    const agent = new http.Agent({ keepAlive: true });
    expect((await get(`${url}/healthz`, agent)).status).toBe(200);
    const started = Date.now();
    const result = await closeHttpServer(s, 5000);
    expect(result).toEqual({ forced: false });
    expect(Date.now() - started).toBeLessThan(1000);
    agent.destroy();
  });

  it('lets an in-flight request finish within the timeout', async () => {
    const { server: s, release, entered } = slowServer();
    const url = await listen(s);
    const agent = new http.Agent({ keepAlive: true });
    const pending = get(`${url}/graphql?query=${encodeURIComponent('{ slow }')}`, agent);
    await entered;
    const closing = closeHttpServer(s, 5000);
    release();
    const res = await pending;
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toEqual({ data: { slow: 7 } });
    await expect(closing).resolves.toEqual({ forced: false });
    agent.destroy();
  });

  it('force-closes a request still running at the timeout', async () => {
    const { server: s, entered } = slowServer();
    const url = await listen(s);
    const agent = new http.Agent({ keepAlive: true });
    const pending = get(`${url}/graphql?query=${encodeURIComponent('{ slow }')}`, agent).catch((e: Error) => e);
    await entered;
    const started = Date.now();
    await expect(closeHttpServer(s, 300)).resolves.toEqual({ forced: true });
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(await pending).toBeInstanceOf(Error); // socket hang up
    agent.destroy();
  });

  it('force-closes upgraded (WebSocket-style) connections too', async () => {
    const { server: s } = slowServer();
    // Stands in for graphql-ws: takes the socket over and keeps it open.
    s.on('upgrade', (_req, socket: import('node:net').Socket) => {
      socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: test\r\nConnection: Upgrade\r\n\r\n');
    });
    const url = new URL(await listen(s));
    const upgraded = new Promise<import('node:net').Socket>((resolve, reject) => {
      http
        .request({ host: url.hostname, port: url.port, path: '/graphql', headers: { connection: 'Upgrade', upgrade: 'test' } })
        .on('upgrade', (_res, socket) => resolve(socket))
        .on('error', reject)
        .end();
    });
    const client = await upgraded;
    const clientClosed = new Promise<void>((r) => client.once('close', () => r()));
    // http's closeAllConnections() does not see upgraded sockets; without our tracking this would hang.
    await expect(closeHttpServer(s, 200)).resolves.toEqual({ forced: true });
    await clientClosed;
    expect(client.destroyed).toBe(true);
  });

  it('resolves for a server that never listened', async () => {
    const { server: s } = slowServer();
    await expect(closeHttpServer(s, 100)).resolves.toEqual({ forced: false });
  });
});
