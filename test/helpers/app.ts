/**
 * Builds the whole app in-process on either backend, with a clock the test moves, and runs
 * typed documents (src/client) through yoga.fetch. Instances of one test share the backend
 * (same Redis key prefix), so several of them act as a cluster.
 */
import type { AddressInfo } from 'node:net';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print, type ExecutionResult } from 'graphql';
import type { Cluster, Redis } from 'ioredis';
import pino from 'pino';
import { afterEach } from 'vitest';
import { createApp, type App, type AppDeps } from '../../src/app.js';
import { createDeliveryWorker } from '../../src/channels/delivery-worker.js';
import type { Outbox } from '../../src/channels/outbox.js';
import type { DeliveryConfig } from '../../src/config.js';
import type { DashboardTtls } from '../../src/dashboard/dashboard.js';
import type { Metrics } from '../../src/metrics/metrics.js';
import { memoryBackend, redisBackend, type Backend } from '../../src/backend.js';
import type { Role } from '../../src/notifications/types.js';
import { createAuth, type Auth } from '../../src/server/auth.js';
import type { PersistedOperations } from '../../src/server/persisted-operations.js';
import type { Store } from '../../src/store/store.js';
import type { DeliveryStore } from '../../src/store/delivery-store.js';
import { createScheduler, type Scheduler, type SchedulerOptions } from '../../src/scheduler/scheduler.js';
import { ExpirySweeper } from '../../src/notifications/expiry-sweeper.js';
import { DEFAULT_PARTITIONS } from '../../src/store/partition.js';
import { deleteByPrefix, newCluster, newRedis, redisClusterNodes, redisUrl, uniquePrefix, withCluster, withRedis } from './redis.js';

/** The outbox settings of test instances: quick retries, loopback receivers allowed. */
export const TEST_DELIVERY: DeliveryConfig = {
  workerEnabled: true,
  retryBaseMs: 20,
  retryMaxMs: 200,
  maxAttempts: 4,
  concurrency: 8,
  timeoutMs: 2000,
  reclaimIdleMs: 60_000,
  webhookAllowPrivate: true,
  telegramBotToken: null,
  telegramApiUrl: 'https://api.telegram.org',
  wecomApiUrl: 'https://qyapi.weixin.qq.com',
};

export const SECRET = 'test-secret-test-secret-test-secret-0123';

export interface TestClock {
  now: number;
  advance(ms: number): void;
}

export interface TestApp {
  app: App;
  store: Store;
  /** the outbox and channel addresses of the backend (shared by the test's instances) */
  deliveries: DeliveryStore;
  clock: TestClock;
  /** the key prefix of this test's backend (Redis) */
  prefix: string;
  /** this instance's backend: store, bus, channels */
  backend: Backend;
  token(sub: string, roles?: Role[], expiresIn?: string): Promise<string>;
  /** Runs a typed document; `as` is a token or a principal to sign one for. */
  run<R, V extends Record<string, unknown>>(doc: TypedDocumentNode<R, V>, variables: V, as: string | { sub: string; roles?: Role[] } | null): Promise<ExecutionResult<R>>;
  /** Starts listening on a free loopback port: `http://…/graphql` and `ws://…/graphql`. */
  listen(): Promise<{ http: string; ws: string }>;
  /** with the `scheduler` option: this instance's scheduler (not started; stopped after the test) */
  scheduler: Scheduler | null;
  /** with the `outbox` option: this instance's outbox worker (started; stopped after the test) */
  outbox: Outbox | null;
  /** this instance's expiry sweeper on the test's clock: call sweep(), or start it with the `sweeper` option */
  sweeper: ExpirySweeper;
}

/** 'cluster': the Redis backend on the private test Redis Cluster (3 masters, 3 replicas). */
export type BackendName = 'memory' | 'redis' | 'cluster';
export const BACKENDS: BackendName[] = ['memory', 'redis'];
/** Both Redis targets, for the tests that touch Redis: one node and the cluster. */
export const REDIS_BACKENDS: BackendName[] = ['redis', 'cluster'];
/** Memory, one node and the cluster: the end-to-end suites that must hold on every target. */
export const EVERY_BACKEND: BackendName[] = ['memory', 'redis', 'cluster'];

/**
 * Call at describe level: returns a getter for the test's app instance `i` (default 0), made on
 * first use. All instances of one test share one backend; Redis keys are removed after each test.
 */
export function useTestApp(
  backend: BackendName,
  opts: {
    cap?: number;
    clock?: 'manual' | 'real';
    scheduler?: Partial<Omit<SchedulerOptions, 'store' | 'backend'>>;
    /** runs an outbox worker in each instance with these settings (over test defaults: fast retries, private addresses allowed) */
    outbox?: Partial<DeliveryConfig> | (() => Partial<DeliveryConfig>);
    /** start each instance's expiry sweeper with this interval (else it only runs when called) */
    sweeper?: { intervalMs: number };
    auth?: Auth;
    persisted?: PersistedOperations;
    /** graphql-ws ping interval (WS_KEEPALIVE_MS) */
    wsKeepAliveMs?: number;
    /** MAX_BUFFERED_BYTES */
    maxBufferedBytes?: number;
    /** MEMORY_MAX_USERS / MEMORY_MAX_NOTIFICATIONS of the memory backend */
    memory?: { maxUsers?: number; maxNotifications?: number };
    /**
     * dashboard part TTLs (defaults: the app's); `refreshMs`: each instance publishes a dashboard
     * refresh that often, standing in for the dashboard-push job (every 5 s) where a test needs faster pushes
     */
    dashboard?: { ttlMs?: Partial<DashboardTtls>; refreshMs?: number };
    /** the built web pages to serve at /console and /inbox (default: none) */
    webRoot?: string;
    /** the instance's metrics (default: enabled, without Node's default metrics) */
    metrics?: () => Metrics;
    /** rate, connection and body limits (absent: none) */
    limits?: Pick<AppDeps, 'rateLimits' | 'connectionLimits' | 'maxBodyBytes'>;
  } = {},
): (i?: number) => TestApp {
  const onCluster = backend === 'cluster';
  const redis: Redis | Cluster | null = backend === 'redis' ? withRedis() : onCluster ? withCluster() : null;
  const auth = opts.auth ?? createAuth(SECRET);
  const logger = pino({ level: 'silent' });
  let instances: TestApp[] = [];
  let subscribers: (Redis | Cluster)[] = [];
  let refreshers: NodeJS.Timeout[] = [];
  let shared: { prefix: string; memory: Backend | null; clock: TestClock } | null = null;

  afterEach(async () => {
    for (const r of refreshers.splice(0)) clearInterval(r);
    await Promise.all(instances.map((t) => t.outbox?.stop(2000)));
    await Promise.all(instances.map((t) => t.scheduler?.stop(2000)));
    await Promise.all(instances.map((t) => t.app.close(100)));
    await Promise.all(subscribers.map((s) => s.quit().catch(() => s.disconnect())));
    if (redis && shared) await deleteByPrefix(redis, shared.prefix);
    instances = [];
    subscribers = [];
    shared = null;
  });

  return (i = 0) => {
    if (instances[i]) return instances[i]!;
    const cap = opts.cap ?? 50;
    shared ??= {
      prefix: uniquePrefix(),
      // The memory backend lives in one process: its "instances" share it.
      memory: redis ? null : memoryBackend({ cap, ...opts.memory }),
      clock: {
        now: Date.now(),
        advance(ms) {
          this.now += ms;
        },
      },
    };
    const { prefix, clock } = shared;
    let b: Backend;
    if (redis) {
      // As main.ts: SUBSCRIBE and SSUBSCRIBE on connections of their own; on the cluster the
      // shard subscriber keeps one connection per shard, and the outbox polls.
      const subscriber = onCluster ? newCluster() : newRedis();
      const shardSubscriber = onCluster ? newCluster({ sharded: true }) : newRedis();
      const blocking = opts.outbox && !onCluster ? newRedis() : null;
      for (const s of [subscriber, shardSubscriber, blocking]) {
        if (!s) continue;
        // Streams still closing after the test may UNSUBSCRIBE on the quitting connection.
        s.on('error', () => {});
        subscribers.push(s);
      }
      b = redisBackend({ redis, subscriber, shardSubscriber, blocking, cap, prefix, partitions: DEFAULT_PARTITIONS });
    } else b = shared.memory!;
    const now = opts.clock === 'real' ? Date.now : () => clock.now;
    // Job workers reach the same backend: their own connection to the same prefix on Redis.
    const instanceId = `test-${i}`;
    const scheduler = opts.scheduler
      ? createScheduler({
          store: b.store,
          deliveries: b.deliveries,
          bus: b,
          instanceId,
          backend: redis
            ? { kind: 'redis', target: onCluster ? { kind: 'cluster', nodes: redisClusterNodes() } : { kind: 'single', url: redisUrl() }, prefix, cap, partitions: DEFAULT_PARTITIONS, waitReplicas: 0 }
            : { kind: 'memory' },
          logger,
          clock: now,
          ...opts.scheduler,
        })
      : null;
    const sweeper = new ExpirySweeper({ store: b.store, clock: now, logger, intervalMs: opts.sweeper?.intervalMs });
    if (opts.sweeper) sweeper.start();
    const delivery: DeliveryConfig | null = opts.outbox ? { ...TEST_DELIVERY, ...(typeof opts.outbox === 'function' ? opts.outbox() : opts.outbox) } : null;
    const app: App = createApp({ ...b, instanceId, auth, logger, clock: now, jobs: scheduler, expirySweeper: sweeper, webhookAllowPrivate: delivery?.webhookAllowPrivate ?? true, persisted: opts.persisted, dashboardTtlMs: opts.dashboard?.ttlMs, webRoot: opts.webRoot ?? null, metrics: opts.metrics?.(), wsKeepAliveMs: opts.wsKeepAliveMs, maxBufferedBytes: opts.maxBufferedBytes, ...opts.limits });
    const outbox = delivery
      ? createDeliveryWorker({ store: b.store, deliveries: b.deliveries, redis, prefix, config: delivery, consumer: `test-${i}`, logger, clock: now, pollMs: 50, onOutcome: (d) => app.metrics.deliveries.inc({ channel: d.channel, status: d.status }) })
      : null;
    outbox?.start();
    if (opts.dashboard?.refreshMs) refreshers.push(setInterval(() => void app.dashboardFeed.publish().catch(() => {}), opts.dashboard.refreshMs));
    const token = (sub: string, roles: Role[] = ['user'], expiresIn = '1h') => auth.sign({ sub, roles, expiresIn });
    const t: TestApp = {
      app,
      store: b.store,
      deliveries: b.deliveries,
      clock,
      prefix,
      backend: b,
      token,
      scheduler,
      outbox,
      sweeper,
      async run(doc, variables, as) {
        const bearer = as === null ? null : typeof as === 'string' ? as : await token(as.sub, as.roles);
        const res = await app.yoga.fetch('http://test/graphql', {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...(bearer ? { authorization: `Bearer ${bearer}` } : {}) },
          body: JSON.stringify({ query: print(doc), variables }),
        });
        return (await res.json()) as ExecutionResult<any>;
      },
      async listen() {
        if (!app.server.listening) await new Promise<void>((resolve) => app.server.listen(0, '127.0.0.1', resolve));
        const { port } = app.server.address() as AddressInfo;
        return { http: `http://127.0.0.1:${port}/graphql`, ws: `ws://127.0.0.1:${port}/graphql` };
      },
    };
    instances[i] = t;
    return t;
  };
}

export const SERVICE = { sub: 'svc', roles: ['service'] as Role[] };
export const ADMIN = { sub: 'root', roles: ['admin'] as Role[] };
export const asUser = (sub: string) => ({ sub, roles: ['user'] as Role[] });

/** The error codes of a result, in order. */
export const codes = (r: ExecutionResult<unknown>) => (r.errors ?? []).map((e) => e.extensions?.code);
