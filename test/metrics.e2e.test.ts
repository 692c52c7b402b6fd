/**
 * GET /metrics over real HTTP after real operations (HTTP, SSE, WebSocket) on both backends:
 * what each instrument counts, who may scrape, bounded labels, the connection gauge, job runs.
 */
import type { AddressInfo } from 'node:net';
import { print } from 'graphql';
import type { Redis } from 'ioredis';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { createApp, type App } from '../src/app.js';
import { memoryBackend, redisBackend, type Backend } from '../src/backend.js';
import {
  BroadcastMutation,
  DashboardQuery,
  MeQuery,
  NotificationReceivedSubscription,
  RunJobMutation,
  SendNotificationMutation,
  UnreadCountChangedSubscription,
} from '../src/client/operations.js';
import { createMetrics, MAX_EXTRA_OPERATIONS, type Metrics } from '../src/metrics/metrics.js';
import type { Role } from '../src/notifications/types.js';
import { createScheduler, type Scheduler } from '../src/scheduler/scheduler.js';
import { createAuth } from '../src/server/auth.js';
import { instrumentRedis } from '../src/store/redis/instrument.js';
import { BACKENDS, SECRET, type BackendName } from './helpers/app.js';
import { deleteByPrefix, newRedis, redisUrl, uniquePrefix } from './helpers/redis.js';
import { sseSubscribe } from './helpers/sse.js';
import { subscribe, untilListening, wsClient } from './helpers/ws.js';
import { DEFAULT_PARTITIONS } from '../src/store/partition.js';

const auth = createAuth(SECRET);
const logger = pino({ level: 'silent' });
const token = (sub: string, roles: Role[] = ['user']) => auth.sign({ sub, roles });
const SERVICE_TOKEN = () => token('svc', ['service']);
const ADMIN_TOKEN = () => token('root', ['admin']);
const METRICS_TOKEN = 'scrape-me-0123456789abcdef';

interface Built {
  app: App;
  metrics: Metrics;
  scheduler: Scheduler | null;
  http: string;
  ws: string;
  /** GET /metrics with these headers */
  scrape(headers?: Record<string, string>): Promise<Response>;
  /** GET /metrics, expected 200, parsed */
  samples(): Promise<Sample[]>;
  /** a document (text) over HTTP; with `origin`, a browser's request, which yoga answers itself (not the fast path) */
  post(query: string, variables: Record<string, unknown>, bearer: string | null, origin?: string): Promise<{ data?: any; errors?: { extensions?: { code?: string } }[] }>;
}

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A whole app on its own registry, listening on a loopback port; Redis connections instrumented as main.ts does. */
async function build(backend: BackendName, opts: { metricsToken?: string | null; enabled?: boolean; scheduler?: boolean } = {}): Promise<Built> {
  const metrics = createMetrics({ enabled: opts.enabled ?? true });
  let b: Backend;
  const prefix = uniquePrefix();
  if (backend === 'redis') {
    const redis: Redis = newRedis();
    const subscriber: Redis = newRedis();
    const shardSubscriber: Redis = newRedis();
    for (const r of [subscriber, shardSubscriber]) r.on('error', () => {});
    for (const r of [redis, subscriber, shardSubscriber]) instrumentRedis(r, metrics);
    b = redisBackend({ redis, subscriber, shardSubscriber, cap: 50, prefix });
    cleanups.push(async () => {
      await deleteByPrefix(redis, prefix);
      for (const r of [redis, subscriber, shardSubscriber]) await r.quit().catch(() => r.disconnect());
    });
  } else b = memoryBackend({ cap: 50 });
  const scheduler = opts.scheduler
    ? createScheduler({ store: b.store, deliveries: b.deliveries, backend: backend === 'redis' ? { kind: 'redis', target: { kind: 'single', url: redisUrl() }, prefix, cap: 50, partitions: DEFAULT_PARTITIONS, waitReplicas: 0 } : { kind: 'memory' }, logger, metrics })
    : null;
  const app = createApp({ ...b, auth, logger, jobs: scheduler, metrics, metricsToken: opts.metricsToken ?? null });
  cleanups.push(async () => {
    await scheduler?.stop(2000);
    await app.close(100);
  });
  await new Promise<void>((resolve) => app.server.listen(0, '127.0.0.1', resolve));
  const { port } = app.server.address() as AddressInfo;
  const base = `http://127.0.0.1:${port}`;
  const scrape = (headers: Record<string, string> = {}) => fetch(`${base}/metrics`, { headers });
  return {
    app,
    metrics,
    scheduler,
    http: `${base}/graphql`,
    ws: `ws://127.0.0.1:${port}/graphql`,
    scrape,
    async samples() {
      const res = await scrape(opts.metricsToken ? { authorization: `Bearer ${opts.metricsToken}` } : {});
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
      return parse(await res.text());
    },
    async post(query, variables, bearer, origin) {
      const res = await fetch(`${base}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(bearer ? { authorization: `Bearer ${bearer}` } : {}), ...(origin ? { origin } : {}) },
        body: JSON.stringify({ query, variables }),
      });
      return (await res.json()) as never;
    },
  };
}

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The samples of a Prometheus text exposition. */
function parse(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`not an exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, k, v] of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[k!] = v!;
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

/** Sum of the samples named `name` whose labels include `labels`. */
function value(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  return samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)).reduce((n, s) => n + s.value, 0);
}

/** Polls /metrics until `check` holds (bounded): gauges follow sockets that close asynchronously. */
async function until(t: Built, check: (s: Sample[]) => boolean, timeoutMs = 5000): Promise<Sample[]> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const s = await t.samples();
    if (check(s)) return s;
    if (Date.now() > end) throw new Error('metrics never reached the expected state');
    await new Promise((r) => setTimeout(r, 20));
  }
}

const send = (t: Built, userIds: string[], title: string, extra: Record<string, unknown> = {}) =>
  SERVICE_TOKEN().then((svc) => t.post(print(SendNotificationMutation), { input: { userIds, type: 'task_assigned', title, body: '', ...extra } }, svc));

describe.each(BACKENDS)('metrics after real operations (%s)', (backend) => {
  it('counts operations, outcomes, errors, sends, subscriptions and deliveries', async () => {
    const t = await build(backend);
    const { client } = wsClient(t.ws, await token('ann'));
    const feed = subscribe(client, NotificationReceivedSubscription, {});
    const counts = subscribe(client, UnreadCountChangedSubscription, {});
    await counts.waitFor(1);
    // both streams listen on ann's channel: a send now reaches them
    await untilListening(t.app, (ch) => ch.user('ann'), 2);

    expect((await send(t, ['ann', 'bob'], 'hello', { dedupKey: 'k1' })).errors).toBeUndefined();
    await feed.waitFor(1);
    await send(t, ['ann'], 'again', { dedupKey: 'k1' }); // deduplicated for ann
    expect((await send(t, [], 'nobody')).errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    await t.post(print(BroadcastMutation), { input: { type: 'system_announcement', title: 'all', body: '', saveOffline: true } }, await ADMIN_TOKEN());
    expect((await t.post('{ me { id } }', {}, 'not-a-token')).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    await t.post('{ nope }', {}, await token('ann'));
    await t.post(print(MeQuery), {}, await token('ann'));
    await t.post(print(MeQuery), {}, await token('ann'), 'http://app.example');
    // the same over WebSocket: a query through yoga's executor, and a document that fails validation
    const viaWs = subscribe(client, MeQuery, {});
    await viaWs.ended;
    const refused = (query: string) => new Promise<unknown>((resolve) => client.subscribe({ query }, { next() {}, error: resolve, complete: () => resolve(null) }));
    expect(await refused('{ nope }')).toBeTruthy();
    expect(await refused('{ me {')).toBeTruthy();
    await t.post('{ me { id', {}, await token('ann'));

    const s = await t.samples();
    const op = (operation: string, type: string, outcome: string) =>
      value(s, 'ntf_graphql_operation_duration_seconds_count', { operation, type, outcome });
    expect(op('SendNotification', 'mutation', 'ok')).toBe(2);
    expect(op('SendNotification', 'mutation', 'error')).toBe(1);
    expect(op('Broadcast', 'mutation', 'ok')).toBe(1);
    expect(op('Me', 'query', 'ok')).toBe(3); // over HTTP (fast path and yoga's own) and over WebSocket
    expect(op('NotificationReceived', 'subscription', 'ok')).toBe(1);
    expect(op('UnreadCountChanged', 'subscription', 'ok')).toBe(1);
    // the histogram has its buckets and sum
    expect(value(s, 'ntf_graphql_operation_duration_seconds_bucket', { operation: 'Me', le: '+Inf' })).toBe(3);
    expect(value(s, 'ntf_graphql_operation_duration_seconds_sum', { operation: 'Me' })).toBeGreaterThan(0);

    expect(value(s, 'ntf_graphql_errors_total', { code: 'BAD_USER_INPUT' })).toBe(1);
    expect(value(s, 'ntf_graphql_errors_total', { code: 'UNAUTHENTICATED' })).toBe(1);
    expect(value(s, 'ntf_graphql_errors_total', { code: 'GRAPHQL_VALIDATION_FAILED' })).toBe(2); // HTTP and WebSocket
    expect(value(s, 'ntf_graphql_errors_total', { code: 'GRAPHQL_PARSE_FAILED' })).toBe(2);
    expect(value(s, 'ntf_graphql_errors_total', { code: 'NO_CODE' })).toBe(0);

    expect(value(s, 'ntf_notifications_sends_total', { kind: 'immediate' })).toBe(2);
    expect(value(s, 'ntf_notifications_recipients_total', { kind: 'send', outcome: 'stored' })).toBe(2);
    expect(value(s, 'ntf_notifications_recipients_total', { kind: 'send', outcome: 'deduplicated' })).toBe(1);
    expect(value(s, 'ntf_notifications_broadcasts_total')).toBe(1);
    // ann and bob exist (bob through the send); both active when the broadcast committed
    expect(value(s, 'ntf_notifications_recipients_total', { kind: 'broadcast', outcome: 'stored' })).toBe(2);

    expect(value(s, 'ntf_graphql_subscriptions', { field: 'notificationReceived', transport: 'ws' })).toBe(1);
    expect(value(s, 'ntf_graphql_subscriptions', { field: 'unreadCountChanged', transport: 'ws' })).toBe(1);
    expect(value(s, 'ntf_realtime_connections', { transport: 'ws' })).toBe(1);
    // 'hello' to ann's feed, plus at least her counts 0 and 1 (the broadcast's count may still be on its way)
    expect(value(s, 'ntf_realtime_events_delivered_total', { transport: 'ws' })).toBeGreaterThanOrEqual(3);
    expect(value(s, 'ntf_realtime_events_dropped_total')).toBe(0);

    if (backend === 'redis') {
      expect(value(s, 'ntf_redis_command_duration_seconds_count', { command: 'script:sendNotification' })).toBeGreaterThanOrEqual(3);
      // a broadcast: its id on the global slot, then one part per partition
      expect(value(s, 'ntf_redis_command_duration_seconds_count', { command: 'script:broadcastBegin' })).toBe(1);
      expect(value(s, 'ntf_redis_command_duration_seconds_count', { command: 'script:broadcastPart' })).toBe(DEFAULT_PARTITIONS);
      expect(value(s, 'ntf_redis_command_duration_seconds_count', { command: 'subscribe' })).toBeGreaterThanOrEqual(1);
      expect(s.filter((x) => x.name === 'ntf_redis_command_errors_total')).toEqual([]);
    } else {
      expect(value(s, 'ntf_redis_command_duration_seconds_count')).toBe(0);
    }

    // Subscriptions end with the socket: the gauges go back to zero.
    feed.stop();
    counts.stop();
    const after = await until(t, (x) => value(x, 'ntf_graphql_subscriptions') === 0);
    expect(value(after, 'ntf_graphql_subscriptions', { field: 'notificationReceived', transport: 'ws' })).toBe(0);
  });

  it('counts SSE streams, their subscriptions and events', async () => {
    const t = await build(backend);
    const feed = sseSubscribe(t.http, await token('sue'), UnreadCountChangedSubscription, {});
    await feed.waitFor(1);
    await send(t, ['sue'], 'one');
    await feed.waitFor(2);
    const s = await t.samples();
    expect(value(s, 'ntf_realtime_connections', { transport: 'sse' })).toBe(1);
    expect(value(s, 'ntf_graphql_subscriptions', { field: 'unreadCountChanged', transport: 'sse' })).toBe(1);
    expect(value(s, 'ntf_realtime_events_delivered_total', { transport: 'sse' })).toBe(2);
    expect(value(s, 'ntf_graphql_operation_duration_seconds_count', { operation: 'UnreadCountChanged', type: 'subscription', outcome: 'ok' })).toBe(1);
    feed.stop();
    await until(t, (x) => value(x, 'ntf_realtime_connections', { transport: 'sse' }) === 0 && value(x, 'ntf_graphql_subscriptions') === 0);
  });

  it('counts cache hits and misses per dashboard part', async () => {
    const t = await build(backend);
    const admin = await ADMIN_TOKEN();
    for (let i = 0; i < 2; i++) expect((await t.post(print(DashboardQuery), {}, admin)).errors).toBeUndefined();
    const s = await t.samples();
    for (const part of ['dashboard.system', 'dashboard.notifications', 'dashboard.cache']) {
      expect(value(s, 'ntf_cache_misses_total', { part })).toBe(1);
      expect(value(s, 'ntf_cache_hits_total', { part, level: 'l1' })).toBe(1);
    }
  });
});

describe('errors over WebSocket', () => {
  it('counts error results and the error that ends an expired subscription', async () => {
    const t = await build('memory');
    const { client } = wsClient(t.ws, await SERVICE_TOKEN());
    const bad = subscribe(client, SendNotificationMutation, { input: { userIds: [], type: 'task_assigned', title: 'x', body: '' } });
    await bad.waitFor(1);
    expect(bad.results[0]!.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const short = wsClient(t.ws, await auth.sign({ sub: 'tim', roles: ['user'], expiresIn: '1s' }));
    const feed = subscribe(short.client, UnreadCountChangedSubscription, {});
    const last = await feed.waitFor(2, 5000);
    expect(last[1]!.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    const s = await t.samples();
    expect(value(s, 'ntf_graphql_errors_total', { code: 'BAD_USER_INPUT' })).toBe(1);
    expect(value(s, 'ntf_graphql_errors_total', { code: 'UNAUTHENTICATED' })).toBe(1);
    expect(value(s, 'ntf_graphql_operation_duration_seconds_count', { operation: 'SendNotification', outcome: 'error' })).toBe(1);
  });
});

describe('who may scrape /metrics', () => {
  it('with METRICS_TOKEN: that token or an admin JWT; 401 without, 403 for other roles', async () => {
    const t = await build('memory', { metricsToken: METRICS_TOKEN });
    const status = async (authorization?: string) => {
      const res = await t.scrape(authorization ? { authorization } : {});
      return { status: res.status, challenge: res.headers.get('www-authenticate'), text: await res.text() };
    };
    const none = await status();
    expect(none.status).toBe(401);
    expect(none.challenge).toBe('Bearer realm="metrics"');
    expect(none.text).not.toContain('ntf_');
    expect((await status(`Bearer ${METRICS_TOKEN}x`)).status).toBe(401);
    expect((await status(`Basic ${METRICS_TOKEN}`)).status).toBe(401);
    expect((await status(`Bearer ${await token('ann')}`)).status).toBe(403);
    expect((await status(`Bearer ${await SERVICE_TOKEN()}`)).status).toBe(403);
    const ok = await status(`bearer ${METRICS_TOKEN}`);
    expect(ok.status).toBe(200);
    expect(ok.text).toContain('# TYPE ntf_graphql_operation_duration_seconds histogram');
    const head = await fetch(t.http.replace(/\/graphql$/, '/metrics'), { method: 'HEAD', headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
    const admin = await status(`Bearer ${await ADMIN_TOKEN()}`);
    expect(admin.status).toBe(200);
    expect(admin.text).toContain('ntf_realtime_connections');
    // registered for the delivery outbox, with its labels, before anything delivers
    expect(admin.text).toContain('# TYPE ntf_deliveries_total counter');
  });

  it('without METRICS_TOKEN: open; METRICS_ENABLED=false: not served, GraphQL unaffected', async () => {
    const open = await build('memory');
    expect((await open.scrape()).status).toBe(200);
    const off = await build('memory', { enabled: false });
    expect((await off.scrape()).status).toBe(404);
    expect((await send(off, ['ann'], 'hi')).errors).toBeUndefined();
    expect((await off.metrics.registry.metrics()).trim()).toBe('');
  });
});

describe('label cardinality', () => {
  it('gives the manifest names and the first 50 others a label of their own, the rest one label', async () => {
    const t = await build('memory');
    for (let i = 0; i < 100; i++) await t.post(`query Op${i} { __typename }`, {}, null);
    await t.post('{ __typename }', {}, null);
    await t.post(print(MeQuery), {}, await token('ann'));
    const s = await t.samples();
    const names = new Set(s.filter((x) => x.name === 'ntf_graphql_operation_duration_seconds_count').map((x) => x.labels.operation));
    const own = [...names].filter((n) => /^Op\d+$/.test(n!));
    expect(own).toHaveLength(MAX_EXTRA_OPERATIONS);
    expect(own).toContain('Op0');
    expect(value(s, 'ntf_graphql_operation_duration_seconds_count', { operation: 'other' })).toBe(100 - MAX_EXTRA_OPERATIONS);
    expect(value(s, 'ntf_graphql_operation_duration_seconds_count', { operation: 'anonymous' })).toBe(1);
    // a manifest name keeps its label after the others ran out
    expect(value(s, 'ntf_graphql_operation_duration_seconds_count', { operation: 'Me' })).toBe(1);
    expect(names.size).toBe(MAX_EXTRA_OPERATIONS + 3);
  });
});

describe('connection gauge', () => {
  it('follows WebSocket connects and disconnects', async () => {
    const t = await build('memory');
    const clients = await Promise.all(
      [0, 1, 2].map(async (i) => {
        const c = wsClient(t.ws, await token(`u${i}`), { lazy: false });
        await new Promise<void>((resolve) => c.client.on('connected', () => resolve()));
        return c;
      }),
    );
    await until(t, (s) => value(s, 'ntf_realtime_connections', { transport: 'ws' }) === 3);
    await clients[0]!.client.dispose();
    await clients[1]!.client.dispose();
    await until(t, (s) => value(s, 'ntf_realtime_connections', { transport: 'ws' }) === 1);
    await clients[2]!.client.dispose();
    await until(t, (s) => value(s, 'ntf_realtime_connections', { transport: 'ws' }) === 0);
  });
});

describe.each(BACKENDS)('job metrics (%s)', (backend) => {
  it('counts a runJob run and its duration', async () => {
    const t = await build(backend, { scheduler: true });
    const res = await t.post(print(RunJobMutation), { name: 'prune-expired' }, await ADMIN_TOKEN());
    expect(res.data?.runJob.lastStatus).toBe('ok');
    const s = await t.samples();
    expect(value(s, 'ntf_job_runs_total', { job: 'prune-expired', result: 'ok' })).toBe(1);
    expect(value(s, 'ntf_job_runs_total', { result: 'failed' })).toBe(0);
    expect(value(s, 'ntf_job_run_duration_seconds_count', { job: 'prune-expired' })).toBe(1);
  }, 30_000);
});

describe('Node defaults', () => {
  it('main.ts registry carries event-loop lag, heap and GC metrics', async () => {
    const metrics = createMetrics({ defaults: true });
    const { body } = await metrics.render();
    for (const name of ['nodejs_eventloop_lag_seconds', 'nodejs_heap_size_used_bytes', 'nodejs_gc_duration_seconds', 'process_cpu_seconds_total']) {
      expect(body).toContain(`# TYPE ${name} `);
    }
    // a registry of its own: prom-client's global one stays empty
    const { register } = await import('prom-client');
    expect((await register.metrics()).trim()).toBe('');
  });
});
