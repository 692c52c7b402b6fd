import {
  GraphQLIncludeDirective,
  GraphQLSkipDirective,
  Kind,
  getDirectiveValues,
  type GraphQLResolveInfo,
  type SelectionSetNode,
} from 'graphql';
import { DASHBOARD_PARTS, type CacheStats, type DashboardPart, type DashboardSnapshot, type NotificationStats, type SystemStats, type TypeCount } from '../dashboard/dashboard.js';
import { builder } from './builder.js';
import { DeliveryStatusEnum } from './deliveries.js';

const CacheStatsRef = builder.objectRef<CacheStats>('CacheStats').implement({
  description: "The cache's lookups today (UTC), all instances: a hit is served from memory or Redis, a miss computed.",
  fields: (t) => ({
    hits: t.exposeInt('hits'),
    misses: t.exposeInt('misses'),
    hitRate: t.exposeFloat('hitRate', { description: 'hits / (hits + misses); 0 before any lookup' }),
  }),
});

const SystemStatsRef = builder.objectRef<SystemStats>('SystemStats').implement({
  description: 'The instance that answered.',
  fields: (t) => ({
    uptimeSeconds: t.exposeFloat('uptimeSeconds'),
    loadAverage: t.exposeFloatList('loadAverage', { description: '1, 5 and 15 minute load averages of the host' }),
    memoryRssBytes: t.exposeFloat('memoryRssBytes'),
    connectedClients: t.exposeInt('connectedClients', { description: 'open subscription connections on this instance (WebSocket + SSE)' }),
    redisUsedMemoryBytes: t.exposeFloat('redisUsedMemoryBytes', { nullable: true, description: 'null on the in-memory backend' }),
    eventLoopDelayMs: t.exposeFloat('eventLoopDelayMs', {
      nullable: true,
      description: "longest event-loop delay of this instance since the part was last computed, ms; null before the first sample",
    }),
  }),
});

const TypeCountRef = builder.objectRef<TypeCount>('TypeCount').implement({
  fields: (t) => ({
    type: t.exposeString('type'),
    count: t.exposeInt('count'),
  }),
});

const DeliveryStatusCountRef = builder.objectRef<NotificationStats['deliveriesByStatus'][number]>('DeliveryStatusCount').implement({
  fields: (t) => ({
    status: t.field({ type: DeliveryStatusEnum, resolve: (c) => c.status }),
    count: t.exposeInt('count'),
  }),
});

const NotificationStatsRef = builder.objectRef<NotificationStats>('NotificationStats').implement({
  description: 'Counted as notifications are sent, per UTC day; the same on every instance.',
  fields: (t) => ({
    sentToday: t.exposeInt('sentToday', { description: 'notifications stored today (a broadcast counts its recipients)' }),
    activeUsers: t.exposeInt('activeUsers'),
    byType: t.field({ type: [TypeCountRef], description: 'sentToday per type, most first', resolve: (n) => n.byType }),
    deduplicatedToday: t.exposeInt('deduplicatedToday', { description: 'sends skipped by dedupKey today (a broadcast counts its audience)' }),
    deliveriesByStatus: t.field({
      type: [DeliveryStatusCountRef],
      description: 'external-channel deliveries kept now, every status (FAILED = dead letters), all instances',
      resolve: (n) => n.deliveriesByStatus,
    }),
  }),
});

const part = <P extends DashboardPart>(d: DashboardSnapshot, p: P): NonNullable<DashboardSnapshot[P]> => {
  const v = d[p];
  if (v === undefined) throw new Error(`dashboard part ${p} was not loaded`);
  return v as NonNullable<DashboardSnapshot[P]>;
};

const DashboardRef = builder.objectRef<DashboardSnapshot>('Dashboard').implement({
  description:
    'Each part is cached with its own TTL (system 10 s, notifications 30 s, cache 60 s by default): once per request, across requests in the instance, and across instances through Redis for the parts that are the same everywhere.',
  fields: (t) => ({
    system: t.field({ type: SystemStatsRef, resolve: (d) => part(d, 'system') }),
    notifications: t.field({ type: NotificationStatsRef, resolve: (d) => part(d, 'notifications') }),
    cache: t.field({ type: CacheStatsRef, resolve: (d) => part(d, 'cache') }),
    generatedAt: t.field({
      type: 'DateTime',
      description: 'When the oldest part in this answer was computed (all parts when none is asked for).',
      resolve: (d) => d.generatedAt,
    }),
  }),
});

/** The Dashboard fields this `dashboard` selection asks for (fragments followed, @skip/@include honoured). */
function selectedParts(info: GraphQLResolveInfo): DashboardPart[] {
  const out = new Set<DashboardPart>();
  const visit = (set: SelectionSetNode | undefined) => {
    for (const s of set?.selections ?? []) {
      if (getDirectiveValues(GraphQLSkipDirective, s, info.variableValues)?.if === true) continue;
      if (getDirectiveValues(GraphQLIncludeDirective, s, info.variableValues)?.if === false) continue;
      if (s.kind === Kind.FIELD) {
        if ((DASHBOARD_PARTS as readonly string[]).includes(s.name.value)) out.add(s.name.value as DashboardPart);
      } else if (s.kind === Kind.INLINE_FRAGMENT) visit(s.selectionSet);
      else visit(info.fragments[s.name.value]?.selectionSet);
    }
  };
  for (const node of info.fieldNodes) visit(node.selectionSet);
  return [...out];
}

builder.queryField('dashboard', (t) =>
  t.field({
    type: DashboardRef,
    description: 'admin',
    authScopes: { admin: true },
    // Each part through the request's loader: one request looks up (or computes) each part once.
    resolve: (_root, _args, ctx, info) => ctx.dashboard.snapshot(selectedParts(info), (fn) => ctx.loaders.cached.load(fn, {})),
  }),
);

builder.subscriptionField('dashboardUpdated', (t) =>
  t.field({
    type: DashboardRef,
    description:
      'admin. The dashboard now, then whenever it changes; pushed to every instance by the scheduler\'s dashboard job.',
    authScopes: { admin: true },
    subscribe: (_root, _args, ctx) => ctx.dashboardFeed.stream({ endsAt: ctx.principal?.expiresAt ?? null }),
    resolve: (d: DashboardSnapshot) => d,
  }),
);
