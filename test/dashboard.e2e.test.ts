/**
 * Query.dashboard and Subscription.dashboardUpdated through the real app: fields and
 * authorisation on both backends, per-part TTLs on the test's clock, single-flight across two
 * instances on one Redis, Redis failures of the cache, and the WebSocket feed.
 */
import { print } from 'graphql';
import { Redis } from 'ioredis';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { createApp, type App, type AppDeps } from '../src/app.js';
import { memoryBackend, redisBackend } from '../src/backend.js';
import {
  BroadcastMutation,
  DashboardQuery,
  DashboardUpdatedSubscription,
  SendNotificationMutation,
  UnreadCountChangedSubscription,
  UpsertUserMutation,
} from '../src/client/operations.js';
import { createAuth } from '../src/server/auth.js';
import { ADMIN, BACKENDS, SECRET, SERVICE, asUser, codes, useTestApp, type TestApp } from './helpers/app.js';
import { deleteByPrefix, newRedis, uniquePrefix, withRedis } from './helpers/redis.js';
import { sseSubscribe } from './helpers/sse.js';
import { subscribe, wsClient } from './helpers/ws.js';

const SEC = 1000;

async function until(cond: () => boolean | Promise<boolean>, timeoutMs = 3000) {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

const dashboard = async (t: TestApp) => {
  const r = await t.run(DashboardQuery, {}, ADMIN);
  expect(r.errors).toBeUndefined();
  return r.data!.dashboard;
};

const send = (t: TestApp, userIds: string[], type: string, dedupKey?: string) =>
  t.run(SendNotificationMutation, { input: { userIds, type, title: 't', body: 'b', ...(dedupKey ? { dedupKey } : {}) } }, SERVICE);

describe.each(BACKENDS)('Query.dashboard (%s)', (backend) => {
  const t = useTestApp(backend);

  it('answers admins with every part, counted as notifications are sent', async () => {
    for (const u of ['a', 'b', 'c']) await t().run(UpsertUserMutation, { id: u }, SERVICE);
    await send(t(), ['a', 'b'], 'task_assigned', 'k1');
    await send(t(), ['a', 'b', 'c'], 'task_assigned', 'k1'); // a, b deduplicated
    await send(t(), ['c'], 'urgent');
    await t().run(BroadcastMutation, { input: { type: 'system_announcement', title: 'x', body: 'y' } }, SERVICE);
    const d = await dashboard(t());
    expect(d.notifications).toEqual({
      sentToday: 7,
      activeUsers: 3,
      byType: [
        { type: 'system_announcement', count: 3 },
        { type: 'task_assigned', count: 3 },
        { type: 'urgent', count: 1 },
      ],
      deduplicatedToday: 2,
      // no channel addresses: nothing went to the outbox
      deliveriesByStatus: ['PENDING', 'RETRYING', 'DELIVERED', 'FAILED', 'SKIPPED'].map((status) => ({ status, count: 0 })),
    });
    expect(d.system.uptimeSeconds).toBeGreaterThan(0);
    expect(d.system.loadAverage).toHaveLength(3);
    expect(d.system.memoryRssBytes).toBeGreaterThan(10_000_000);
    expect(d.system.connectedClients).toBe(0);
    if (backend === 'memory') expect(d.system.redisUsedMemoryBytes).toBeNull();
    else expect(d.system.redisUsedMemoryBytes).toBeGreaterThan(100_000);
    // this first request's lookups were all misses (the ones counted before `cache` read the counts)
    expect(d.cache).toMatchObject({ hits: 0, hitRate: 0 });
    expect(d.cache.misses).toBeGreaterThanOrEqual(1);
    expect(d.generatedAt).toBe(new Date(t().clock.now).toISOString());
  });

  it('reports the event-loop delay since the system part was last computed', async () => {
    await dashboard(t());
    // Hold the loop for 120 ms, then let the 10 s system TTL pass.
    const until = Date.now() + 120;
    while (Date.now() < until);
    await new Promise((r) => setTimeout(r, 30));
    t().clock.advance(10_001);
    const d = await dashboard(t());
    expect(d.system.eventLoopDelayMs).toBeGreaterThan(60);
  });

  it('is admin only: FORBIDDEN for user and service tokens, UNAUTHENTICATED without one', async () => {
    expect(codes(await t().run(DashboardQuery, {}, asUser('u')))).toEqual(['FORBIDDEN']);
    expect(codes(await t().run(DashboardQuery, {}, SERVICE))).toEqual(['FORBIDDEN']);
    expect(codes(await t().run(DashboardQuery, {}, null))).toEqual(['UNAUTHENTICATED']);
    expect(t().app.dashboard.computed).toEqual({ system: 0, notifications: 0, cache: 0 });
  });

  it('keeps each part for its own TTL (10 s, 30 s, 60 s); generatedAt is the oldest part in the answer', async () => {
    const T = t().clock.now;
    const iso = (ms: number) => new Date(ms).toISOString();
    const at = async (ms: number) => {
      t().clock.now = T + ms;
      return dashboard(t());
    };
    const d0 = await at(0);
    expect(d0.generatedAt).toBe(iso(T));
    await send(t(), ['a'], 'news');
    const d1 = await at(10 * SEC - 1);
    expect(d1).toEqual(d0); // nothing recomputed
    expect(t().app.dashboard.computed).toEqual({ system: 1, notifications: 1, cache: 1 });
    const d2 = await at(10 * SEC);
    expect(t().app.dashboard.computed).toEqual({ system: 2, notifications: 1, cache: 1 });
    expect(d2.notifications.sentToday).toBe(0);
    expect(d2.generatedAt).toBe(iso(T));
    const d3 = await at(30 * SEC);
    expect(t().app.dashboard.computed).toEqual({ system: 3, notifications: 2, cache: 1 });
    expect(d3.notifications.sentToday).toBe(1);
    expect(d3.cache).toEqual(d0.cache);
    expect(d3.generatedAt).toBe(iso(T));
    const d4 = await at(60 * SEC);
    expect(t().app.dashboard.computed).toEqual({ system: 4, notifications: 3, cache: 2 });
    expect(d4.generatedAt).toBe(iso(T + 60 * SEC));
    expect(d4.cache.hits).toBeGreaterThan(0);
  });

  it('generatedAt covers only the parts asked for', async () => {
    const T = t().clock.now;
    await dashboard(t());
    t().clock.now = T + 10 * SEC; // system is recomputed, the others are not
    const only = await t().app.yoga.fetch('http://x/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${await t().token('root', ['admin'])}` },
      body: JSON.stringify({
        query: 'query($n: Boolean!) { dashboard { ...S generatedAt notifications @include(if: $n) { sentToday } } } fragment S on Dashboard { system { uptimeSeconds } }',
        variables: { n: false },
      }),
    });
    const body = (await only.json()) as { data: { dashboard: { generatedAt: string } } };
    expect(body.data.dashboard.generatedAt).toBe(new Date(T + 10 * SEC).toISOString());
  });

  it('counts open subscription connections of this instance: WebSocket and SSE', async () => {
    const { ws, http } = await t().listen();
    const token = await t().token('watcher');
    const feed = subscribe(wsClient(ws, token).client, UnreadCountChangedSubscription, {});
    await feed.waitFor(1);
    const sse = sseSubscribe(http, token, UnreadCountChangedSubscription, {});
    await sse.waitFor(1);
    expect((await dashboard(t())).system.connectedClients).toBe(2);
    sse.stop();
    feed.stop();
  });
});

describe('Query.dashboard on two instances sharing one Redis', () => {
  const t = useTestApp('redis');

  it('100 concurrent queries over two instances compute each part at most once per TTL window', async () => {
    const burst = () => Promise.all(Array.from({ length: 100 }, (_, i) => dashboard(t(i % 2))));
    const computed = () => [t(0).app.dashboard.computed, t(1).app.dashboard.computed];
    const results = await burst();
    // system describes each instance: once on each; the shared parts once in all
    expect(computed()).toEqual([
      { system: 1, notifications: expect.any(Number), cache: expect.any(Number) },
      { system: 1, notifications: expect.any(Number), cache: expect.any(Number) },
    ]);
    const sum = (p: 'notifications' | 'cache') => computed()[0]![p] + computed()[1]![p];
    expect([sum('notifications'), sum('cache')]).toEqual([1, 1]);
    expect(new Set(results.map((d) => JSON.stringify([d.notifications, d.cache, d.generatedAt]))).size).toBe(1);

    await send(t(0), ['z'], 'news');
    t(0).clock.advance(30 * SEC); // the clock is shared by both instances
    const later = await burst();
    expect([sum('notifications'), sum('cache')]).toEqual([2, 1]);
    expect(computed().map((c) => c.system)).toEqual([2, 2]);
    expect(new Set(later.map((d) => d.notifications.sentToday))).toEqual(new Set([1]));

    t(0).clock.advance(30 * SEC);
    await burst();
    expect([sum('notifications'), sum('cache')]).toEqual([3, 2]);
    // every instance's hits reach the shared counts: 600 lookups so far, 8 of them computed
    const final = await dashboard(t(1));
    expect(final.cache.misses).toBeGreaterThanOrEqual(4);
    expect(final.cache.hits + final.cache.misses).toBeGreaterThanOrEqual(300);
  });
});

describe('cache failures and caching off', () => {
  const redis = withRedis();
  const apps: App[] = [];
  const cleanup: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    await Promise.all(apps.splice(0).map((a) => a.close(100)));
    for (const c of cleanup.splice(0)) await c();
  });
  const auth = createAuth(SECRET);

  function app(deps: Partial<AppDeps>, backend: 'memory' | 'redis' = 'redis') {
    let b;
    if (backend === 'redis') {
      const prefix = uniquePrefix();
      const [subscriber, shardSubscriber] = [newRedis(), newRedis()];
      for (const s of [subscriber, shardSubscriber]) {
        s.on('error', () => {});
        cleanup.push(() => s.quit().catch(() => s.disconnect()));
      }
      cleanup.push(() => deleteByPrefix(redis, prefix));
      b = redisBackend({ redis, subscriber, shardSubscriber, cap: 50, prefix });
    } else b = memoryBackend({ cap: 50 });
    // deps last: a test may replace what the backend brings (its L2, say)
    const a = createApp({ ...b, auth, logger: pino({ level: 'silent' }), ...deps });
    apps.push(a);
    return a;
  }
  const query = async (a: App, query = print(DashboardQuery)) => {
    const res = await a.yoga.fetch('http://x/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${await auth.sign({ sub: 'root', roles: ['admin'] })}` },
      body: JSON.stringify({ query }),
    });
    return (await res.json()) as { data?: any; errors?: unknown[] };
  };

  it.each([
    ['quit', async () => {
      const r = newRedis();
      await r.quit();
      return r;
    }],
    ['never answering', async () => {
      const r = new Redis({ host: '127.0.0.1', port: 1, maxRetriesPerRequest: null, retryStrategy: () => 50 });
      r.on('error', () => {});
      cleanup.push(async () => r.disconnect());
      return r;
    }],
  ])('a %s L2 client: the dashboard is computed, never an error', async (_name, broken) => {
    // the store keeps its working connection; only the cache's L2 is broken
    const withBrokenL2 = app({ l2: { redis: await broken(), prefix: uniquePrefix() } });
    await withBrokenL2.service.send({ userIds: ['u'], type: 'news', title: 't', body: 'b' });
    const r = await query(withBrokenL2);
    expect(r.errors).toBeUndefined();
    expect(r.data.dashboard.notifications.sentToday).toBe(1);
    expect(withBrokenL2.cache.counters().l2Errors).toBeGreaterThanOrEqual(1);
    expect((await query(withBrokenL2)).data.dashboard).toEqual(r.data.dashboard); // L1 still serves
  });

  it('with caching off, every request computes every part once, however often it asks for it', async () => {
    const a = app({ cacheEnabled: false }, 'memory');
    const twice = 'query { a: dashboard { system { uptimeSeconds } generatedAt } b: dashboard { ...F } } fragment F on Dashboard { system { memoryRssBytes } notifications { sentToday } generatedAt }';
    expect((await query(a, twice)).errors).toBeUndefined();
    expect(a.dashboard.computed).toEqual({ system: 1, notifications: 1, cache: 0 });
    await query(a, twice);
    expect(a.dashboard.computed).toEqual({ system: 2, notifications: 2, cache: 0 });
  });
});

describe.each(BACKENDS)('Subscription.dashboardUpdated (%s)', (backend) => {
  const t = useTestApp(backend);

  it('streams the dashboard to an admin over WebSocket: now, then on every push from any instance', async () => {
    const { ws } = await t(0).listen();
    const feed = subscribe(wsClient(ws, await t(0).token('root', ['admin'])).client, DashboardUpdatedSubscription, {});
    const [first] = await feed.waitFor(1);
    expect(first!.errors).toBeUndefined();
    expect(first!.data!.dashboardUpdated.system.connectedClients).toBe(1);
    expect(first!.data!.dashboardUpdated.generatedAt).toBe(new Date(t(0).clock.now).toISOString());
    expect(t(0).app.dashboardFeed.size).toBe(1);

    const T = t(0).clock.now;
    await send(t(1), ['a'], 'news');
    t(0).clock.advance(30 * SEC);
    await t(1).app.dashboardFeed.publish(); // what the scheduler's dashboard job does, from any instance
    const [, second] = await feed.waitFor(2);
    expect(second!.data!.dashboardUpdated.notifications.sentToday).toBe(1);
    expect(second!.data!.dashboardUpdated.generatedAt).toBe(new Date(T).toISOString()); // `cache` is from T (60 s)

    feed.stop();
    await until(() => t(0).app.dashboardFeed.size === 0);
  });

  it('is admin only', async () => {
    const { ws } = await t().listen();
    const feed = subscribe(wsClient(ws, await t().token('svc', ['service'])).client, DashboardUpdatedSubscription, {});
    const [r] = await feed.waitFor(1);
    expect(codes(r!)).toEqual(['FORBIDDEN']);
    expect(t().app.dashboardFeed.size).toBe(0);
  });
});

describe.each(BACKENDS)('the dashboard refresh, the one driver of pushes (%s)', (backend) => {
  const t = useTestApp(backend);

  it('publishes one snapshot on the dashboard topic, from the instance that sent the refresh, only when asked', async () => {
    const [a, b] = [t(0), t(1)];
    // both instances' feeds are on the bus (a stream's first snapshot waits for that)
    for (const x of [a, b]) await x.app.dashboardFeed.stream().next();
    const topic = b.app.realtime.topics(['dashboard']);
    const channel = b.backend.channels.topic('dashboard');
    await until(async () => (await b.backend.countSubscribers(channel)) === 1);
    // without `topic` nobody publishes on it
    await b.app.dashboardFeed.publish();
    // sent by instance 1: instance 1 publishes its snapshot (of now); instance 0 must not
    await b.app.dashboardFeed.publish({ topic: true });
    const T1 = a.clock.now;
    const { value: first } = await topic.next();
    expect(first!.topic).toBe('dashboard');
    expect((first!.payload as { generatedAt: number }).generatedAt).toBe(T1);
    a.clock.advance(60 * SEC); // every part expires: a snapshot read from here on is of the new time
    await a.app.dashboardFeed.publish({ topic: true });
    const { value: second } = await topic.next();
    expect((second!.payload as { generatedAt: number }).generatedAt).toBe(a.clock.now);
    await topic.return();
  });
});

describe('the dashboard feed on the bus', () => {
  it('listens to the dashboard channel from the app’s start to its close, with or without listeners', async () => {
    const b = memoryBackend({ cap: 10 });
    const a = createApp({ ...b, auth: createAuth(SECRET), logger: pino({ level: 'silent' }) });
    expect(await b.countSubscribers(b.channels.dashboard)).toBe(1);
    const q = a.dashboardFeed.stream();
    await q.next();
    await q.return();
    expect(await b.countSubscribers(b.channels.dashboard)).toBe(1);
    await a.close(100);
    await until(async () => (await b.countSubscribers(b.channels.dashboard)) === 0);
  });
});
