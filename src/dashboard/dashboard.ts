/**
 * The operators' dashboard: three parts, each cached with its own TTL through the two-level
 * cache (src/cache), plus `generatedAt`, the time the oldest part in the answer was computed.
 *
 * - `system` describes the instance that answers: L1 only.
 * - `notifications` (the store's day counters, active users) and `cache` (every instance's
 *   hits and misses today) are the same everywhere: L1 and L2, computed once per TTL across
 *   instances.
 * Knows nothing of GraphQL; the schema passes a per-request loader (RequestCache) to `snapshot`.
 */
import os from 'node:os';
import type { Cache, Cached, CachedFn } from '../cache/cache.js';
import { DELIVERY_STATUSES, type DeliveryStatus } from '../store/deliveries.js';
import type { DeliveryStore } from '../store/delivery-store.js';
import type { Store } from '../store/store.js';

export const DASHBOARD_PARTS = ['system', 'notifications', 'cache'] as const;
export type DashboardPart = (typeof DASHBOARD_PARTS)[number];

export interface SystemStats {
  uptimeSeconds: number;
  loadAverage: number[];
  memoryRssBytes: number;
  /** open subscription connections on this instance: graphql-ws sockets + SSE streams */
  connectedClients: number;
  /** null on the memory backend (or when Redis does not answer) */
  redisUsedMemoryBytes: number | null;
  /** longest event-loop delay since the part was last computed, ms; null before any sample */
  eventLoopDelayMs: number | null;
}

export interface TypeCount {
  type: string;
  count: number;
}

export interface NotificationStats {
  sentToday: number;
  activeUsers: number;
  /** most sent first */
  byType: TypeCount[];
  deduplicatedToday: number;
  /** every delivery status with its count now, in DELIVERY_STATUSES order */
  deliveriesByStatus: { status: DeliveryStatus; count: number }[];
}

export interface CacheStats {
  hits: number;
  misses: number;
  /** hits / (hits + misses); 0 before any lookup */
  hitRate: number;
}

/** What Query.dashboard and Subscription.dashboardUpdated resolve to; parts not asked for are absent. */
export interface DashboardSnapshot {
  system?: SystemStats;
  notifications?: NotificationStats;
  cache?: CacheStats;
  /** epoch ms: when the oldest part in it was computed */
  generatedAt: number;
}

export type DashboardTtls = Record<DashboardPart, number>;
/** system 10 s, notifications 30 s, cache 60 s (config DASHBOARD_TTL_*_MS) */
export const DEFAULT_DASHBOARD_TTLS: Readonly<DashboardTtls> = { system: 10_000, notifications: 30_000, cache: 60_000 };

type NoArgs = Record<string, never>;
type Parts = { [P in DashboardPart]: CachedFn<NoArgs, NonNullable<DashboardSnapshot[P]>> };
/** How a part is fetched: straight from the cache, or through a request's loader. */
export type PartLoader = <T>(fn: CachedFn<NoArgs, T>) => Promise<Cached<T>>;

export interface DashboardDeps {
  store: Store;
  cache: Cache;
  clock: () => number;
  /** open subscription connections on this instance */
  connectedClients: () => number;
  /** the delivery outbox (deliveries by status) */
  deliveries: DeliveryStore;
  /** longest event-loop delay since the last call, ms (app.ts samples it with perf_hooks) */
  eventLoopDelayMs?: () => number | null;
  ttlMs?: Partial<DashboardTtls>;
}

export class Dashboard {
  readonly parts: Parts;
  readonly ttlMs: Readonly<DashboardTtls>;
  /** Computations per part on this instance (what the cache could not serve). */
  readonly computed: Record<DashboardPart, number> = { system: 0, notifications: 0, cache: 0 };

  constructor(private readonly deps: DashboardDeps) {
    const ttl = (this.ttlMs = { ...DEFAULT_DASHBOARD_TTLS, ...deps.ttlMs });
    const { cache } = deps;
    this.parts = {
      system: cache.define({ name: 'dashboard.system', ttlMs: ttl.system, shared: false }, () => this.count('system', () => this.system())),
      notifications: cache.define({ name: 'dashboard.notifications', ttlMs: ttl.notifications, shared: true }, () =>
        this.count('notifications', () => this.notifications()),
      ),
      cache: cache.define({ name: 'dashboard.cache', ttlMs: ttl.cache, shared: true }, () => this.count('cache', () => this.cacheStats())),
    };
  }

  /**
   * The parts asked for (all by default; none means all, so that `generatedAt` alone still
   * says something) and the oldest computedAt among them.
   */
  async snapshot(parts: readonly DashboardPart[] = DASHBOARD_PARTS, load: PartLoader = (fn) => fn({})): Promise<DashboardSnapshot> {
    const wanted = parts.length > 0 ? [...new Set(parts)] : DASHBOARD_PARTS;
    const loaded = await Promise.all(wanted.map((p) => load(this.parts[p] as CachedFn<NoArgs, unknown>)));
    const snap: DashboardSnapshot = { generatedAt: Math.min(...loaded.map((c) => c.computedAt)) };
    wanted.forEach((p, i) => ((snap as unknown as Record<string, unknown>)[p] = loaded[i]!.value));
    return snap;
  }

  private async count<T>(part: DashboardPart, compute: () => Promise<T>): Promise<T> {
    this.computed[part]++;
    return compute();
  }

  private async system(): Promise<SystemStats> {
    return {
      uptimeSeconds: process.uptime(),
      loadAverage: os.loadavg(),
      memoryRssBytes: process.memoryUsage.rss(),
      connectedClients: this.deps.connectedClients(),
      // The rest of the part is still worth showing while Redis is away.
      redisUsedMemoryBytes: await this.deps.store.usedMemoryBytes().catch(() => null),
      eventLoopDelayMs: this.deps.eventLoopDelayMs?.() ?? null,
    };
  }

  private async notifications(): Promise<NotificationStats> {
    const { store, clock } = this.deps;
    const [day, activeUsers, byStatus] = await Promise.all([store.dailyStats(clock()), store.countActiveUsers(), this.deps.deliveries.countByStatus()]);
    const byType = Object.entries(day.byType)
      .map(([type, count]) => ({ type, count }))
      .sort((a, b) => b.count - a.count || (a.type < b.type ? -1 : 1));
    const deliveriesByStatus = DELIVERY_STATUSES.map((status) => ({ status, count: byStatus[status] ?? 0 }));
    return { sentToday: day.sent, activeUsers, byType, deduplicatedToday: day.deduplicated, deliveriesByStatus };
  }

  private async cacheStats(): Promise<CacheStats> {
    const { hits, misses } = await this.deps.cache.stats();
    return { hits, misses, hitRate: hits + misses === 0 ? 0 : hits / (hits + misses) };
  }
}
