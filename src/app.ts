import { randomUUID } from 'node:crypto';
import type http from 'node:http';
import type { PubSubEngine } from 'graphql-subscriptions';
import type { Logger } from 'pino';
import type { Backend, CacheL2 } from './backend.js';
import { createCache, type Cache } from './cache/cache.js';
import { Dashboard, type DashboardTtls } from './dashboard/dashboard.js';
import { sampleEventLoopLag } from './dashboard/event-loop.js';
import { DashboardFeed } from './dashboard/feed.js';
import { NotificationService } from './notifications/service.js';
import type { Role } from './notifications/types.js';
import type { Channels } from './realtime/channels.js';
import { Realtime } from './realtime/realtime.js';
import type { Auth } from './server/auth.js';
import type { PersistedOperations } from './server/persisted-operations.js';
import { closeHttpServer, createHttpServer, openEventStreams } from './server/http-server.js';
import { defaultWebRoot, webPages } from './server/web-pages.js';
import { attachWebSocket, type WebSocketEndpoint } from './server/websocket.js';
import { UserConnections } from './server/connection-limits.js';
import { createMutationLimiter, type RateLimits } from './server/rate-limit.js';
import { createGraphQLServer, type GraphQLServer } from './server/yoga.js';
import { createFastPath } from './server/http-fast-path.js';
import { createExecute } from './server/execute.js';
import type { Store } from './store/store.js';
import type { DeliveryStore } from './store/delivery-store.js';
import { cacheKeys } from './store/redis/keys.js';
import { DeliveryService } from './channels/delivery-service.js';
import type { JobsApi } from './scheduler/scheduler.js';
import type { ExpirySweeper } from './notifications/expiry-sweeper.js';
import { createMetrics, type Metrics } from './metrics/metrics.js';
import { metricsRoute } from './server/metrics-route.js';

export interface AppDeps {
  store: Store;
  /** the delivery outbox and channel addresses (Backend.deliveries) */
  deliveries: DeliveryStore;
  /** WEBHOOK_ALLOW_PRIVATE: http and private addresses accepted for webhooks. @default false */
  webhookAllowPrivate?: boolean;
  /** RedisPubSub on Redis, an in-process PubSub on the memory backend */
  bus: PubSubEngine;
  channels: Channels;
  auth: Auth;
  logger: Logger;
  clock?: () => number;
  graphiqlToken?: string;
  topicRoles?: Readonly<Record<string, Role>>;
  wsKeepAliveMs?: number;
  /** MAX_BUFFERED_BYTES: a WebSocket or SSE client with more than this waiting to be written to it is closed. @default 1 MiB */
  maxBufferedBytes?: number;
  /** the cache's shared level (Backend.l2); absent or null: each instance caches alone */
  l2?: CacheL2 | null;
  /** false turns the cross-request cache off (config CACHE_ENABLED; the bench compares). @default true */
  cacheEnabled?: boolean;
  /** per-part dashboard TTLs (config DASHBOARD_TTL_*_MS) */
  dashboardTtlMs?: Partial<DashboardTtls>;
  /** the built console and inbox pages (web/dist); null: not served. @default this package's web/dist */
  webRoot?: string | null;
  /** this instance's id, as its scheduler knows it (dashboard-push's refreshes name their sender). @default a random id */
  instanceId?: string;
  /** the scheduler (main.ts creates it) for the `jobs` query and `runJob`; absent: those answer as if no job existed */
  jobs?: JobsApi | null;
  /** settles users as their notifications expire (main.ts creates and starts it); stopped by close() */
  expirySweeper?: ExpirySweeper | null;
  /** persisted operations (PERSISTED_OPERATIONS), enforced over HTTP, SSE and WebSocket; absent: documents only */
  persisted?: PersistedOperations;
  /** main.ts's one registry (the scheduler and Redis connections record into it too); absent: one of the app's own */
  metrics?: Metrics;
  /** with it, `GET /metrics` needs this bearer token or an admin JWT (config METRICS_TOKEN). @default null: open */
  metricsToken?: string | null;
  /** mutations per second per principal (config RATE_LIMIT_*), on Redis when `l2` is given; absent: no limit */
  rateLimits?: RateLimits;
  /** open connections (config MAX_CONNECTIONS_PER_USER, MAX_CONNECTIONS; 0: none); absent: no limit */
  connectionLimits?: { perUser: number; total: number };
  /** config MAX_BODY_BYTES: HTTP bodies and WebSocket messages; absent: no HTTP limit, 1 MiB per message */
  maxBodyBytes?: number;
  /** Backend.watchBus: streams catch up after a bus outage */
  watchBus?: Backend['watchBus'];
}

export interface App {
  service: NotificationService;
  deliveries: DeliveryService;
  realtime: Realtime;
  cache: Cache;
  dashboard: Dashboard;
  dashboardFeed: DashboardFeed;
  yoga: GraphQLServer;
  server: http.Server;
  ws: WebSocketEndpoint;
  metrics: Metrics;
  close(timeoutMs?: number): Promise<void>;
}

/**
 * Everything but connections and process wiring: main.ts (and tests) hand in the store, bus
 * and auth, and own what they created.
 */
export function createApp(deps: AppDeps): App {
  const { store, bus, channels, auth, logger, clock, graphiqlToken, topicRoles = { dashboard: 'admin' }, wsKeepAliveMs } = deps;
  const metrics = deps.metrics ?? createMetrics();
  const service = new NotificationService(store, clock, metrics);
  const deliveries = new DeliveryService(deps.deliveries, { allowPrivate: deps.webhookAllowPrivate ?? false, clock });
  const realtime = new Realtime({ bus, channels, service });
  deps.watchBus?.({ suspend: () => realtime.suspend(), resume: () => realtime.resume() });
  const cache = createCache({ l2: deps.l2 ? { redis: deps.l2.redis, keys: cacheKeys(deps.l2.prefix) } : null, clock: service.now.bind(service), enabled: deps.cacheEnabled, logger, metrics });
  // ws and server exist only below; the dashboard asks for the count when it computes.
  const connectedClients = () => ws.connections() + openEventStreams(server);
  const loopLag = sampleEventLoopLag();
  const dashboard = new Dashboard({ store, cache, clock: service.now.bind(service), connectedClients, deliveries: deps.deliveries, eventLoopDelayMs: loopLag.take, ttlMs: deps.dashboardTtlMs });
  const dashboardFeed = new DashboardFeed({
    dashboard,
    bus,
    channel: channels.dashboard,
    instance: deps.instanceId ?? randomUUID(),
    publishTopic: (s) => realtime.publishTopic('dashboard', s),
    clock: service.now.bind(service),
    logger,
  });
  const mutationLimiter = deps.rateLimits ? createMutationLimiter({ limits: deps.rateLimits, redis: deps.l2?.redis ?? null, prefix: deps.l2?.prefix }) : null;
  const { persisted } = deps;
  const execute = createExecute({ metrics, limiter: mutationLimiter, logger });
  const yoga = createGraphQLServer({ service, deliveries, realtime, dashboard, dashboardFeed, jobs: deps.jobs, topicRoles, auth, logger, graphiqlToken, persisted, metrics, execute, bodyLimited: deps.maxBodyBytes !== undefined });
  const graphql = createFastPath({ yoga, execute, persisted, maxBodyBytes: deps.maxBodyBytes, logger });
  const limits = deps.connectionLimits && { total: deps.connectionLimits.total, open: connectedClients };
  const slots = deps.connectionLimits?.perUser ? new UserConnections(deps.connectionLimits.perUser) : null;
  const userConnections = slots && { slots, sub: async (h: string | undefined) => (await auth.verify(h))?.sub ?? null };
  const route = metrics.enabled ? metricsRoute({ metrics, token: deps.metricsToken ?? null, auth }) : null;
  const webRoot = deps.webRoot === undefined ? defaultWebRoot() : deps.webRoot;
  const pages = webRoot === null ? undefined : webPages(webRoot);
  const { maxBufferedBytes } = deps;
  const server = createHttpServer({ yoga, graphql, ready: () => store.ping(), logger, maxBufferedBytes, metrics: route, maxBodyBytes: deps.maxBodyBytes, connectionLimit: limits, userConnections, pages });
  const ws = attachWebSocket({ server, yoga, execute, auth, logger, keepAliveMs: wsKeepAliveMs, persisted, maxBufferedBytes, metrics, limits, userConnections: slots, maxPayload: deps.maxBodyBytes });
  metrics.onScrape(async () => {
    metrics.connections.set({ transport: 'ws' }, ws.connections());
    metrics.connections.set({ transport: 'sse' }, openEventStreams(server));
    // Shared state: an unreachable backend leaves the last values rather than failing the scrape.
    const kept = await deps.deliveries.countByStatus().catch(() => null);
    if (kept) for (const [status, n] of Object.entries(kept)) metrics.deliveriesKept.set({ status }, n);
  });
  return {
    service,
    deliveries,
    realtime,
    cache,
    dashboard,
    dashboardFeed,
    yoga,
    server,
    ws,
    metrics,
    async close(timeoutMs = 5000) {
      dashboardFeed.close();
      loopLag.stop();
      await deps.expirySweeper?.stop();
      await ws.dispose();
      await closeHttpServer(server, timeoutMs);
    },
  };
}
