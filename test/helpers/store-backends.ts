/**
 * What the Store contract suites share (test/store-*.test.ts): the backends each suite runs
 * against (memory, and Redis under its own key prefix, deleted after each test, on the private
 * server from test/global-setup.ts), and helpers that make items and read inboxes.
 *
 * Time is a parameter: every call gets `now` explicitly, starting at T0 and only moving
 * forward; nothing sleeps.
 */
import { afterEach, expect } from 'vitest';
import type { Cluster, Redis } from 'ioredis';
import { decodeSeq } from '../../src/notifications/ids.js';
import { NotificationService } from '../../src/notifications/service.js';
import type {
  BroadcastRecord,
  Notification,
  NotificationContent,
  NotificationFilter,
  Priority,
  UserRecord,
} from '../../src/notifications/types.js';
import { channels as channelNames } from '../../src/realtime/channels.js';
import type { UserEvent } from '../../src/realtime/events.js';
import { createMemoryStore } from '../../src/store/memory/memory-store.js';
import { keySpace } from '../../src/store/redis/keys.js';
import { createRedisStore } from '../../src/store/redis/redis-store.js';
import type { ClaimedSend, NewBroadcast, NewItem, Page, SendOutcome, Store } from '../../src/store/store.js';
import { deleteByPrefix, keysByPrefix, newCluster, newRedis, uniquePrefix, withCluster, withRedis } from './redis.js';

export const T0 = Date.now();
export const SEC = 1_000;
export const MIN = 60 * SEC;
export const HOUR = 60 * MIN;

/** A scheduled send's delivery, the domain rule (NotificationService.deliverScheduled) over this store. */
export const deliverScheduled = (store: Store, send: ClaimedSend, now: number) => new NotificationService(store).deliverScheduled(send, now);

// ---------------------------------------------------------------------------------------------
// Backends
// ---------------------------------------------------------------------------------------------

export const redis = withRedis();
/** The private test cluster (3 masters, 3 replicas): the same contract runs on it. */
export const cluster = withCluster();
/** Prefixes to delete after each test, with the connection that holds them. */
export const prefixesToDelete: string[] = [];
const clusterPrefixes: string[] = [];
const subscribers: (Redis | Cluster)[] = [];
afterEach(async () => {
  for (const p of prefixesToDelete.splice(0)) await deleteByPrefix(redis, p);
  for (const p of clusterPrefixes.splice(0)) await deleteByPrefix(cluster, p);
  await Promise.all(subscribers.splice(0).map((s) => s.quit().catch(() => s.disconnect())));
});

/** Every key under `prefix` on the single test Redis, prefix stripped, sorted (SCAN, never KEYS). */
export async function scanKeys(prefix: string, on: Redis | Cluster = redis): Promise<string[]> {
  return (await keysByPrefix(on, prefix)).map((k) => k.slice(prefix.length)).sort();
}

export interface Made {
  store: Store;
  /** the epoch a user's resumes are held to: the data set's (memory), its partition's (Redis) */
  epochOf(userId: string): Promise<number>;
  /** Redis only: the keys the store holds (prefix stripped, sorted); null for memory. */
  keys: (() => Promise<string[]>) | null;
}

export interface Recorded extends Made {
  /** the events published so far on `userId`'s channel, in order (every one published before the call) */
  events(userId: string): Promise<UserEvent[]>;
}

export interface Setup {
  name: 'memory' | 'redis' | 'cluster';
  make(opts?: { cap?: number }): Made;
  /** a store whose published events are recorded (memory: its publish hook; Redis: a subscriber) */
  record(opts?: { cap?: number; users?: string[] }): Promise<Recorded>;
}

const BARRIER = '{"kind":"barrier"}';
/** The users whose events record() keeps by default. */
const RECORDED = ['u', 'a', 'b', 'c', 'd'];

export const setups: Setup[] = [
  {
    name: 'memory',
    make: ({ cap = 100 } = {}) => {
      const store = createMemoryStore({ cap });
      return { store, keys: null, epochOf: () => store.epoch() };
    },
    async record({ cap = 100 } = {}) {
      const log: { channel: string; ev: UserEvent }[] = [];
      const ch = channelNames();
      const store = createMemoryStore({ cap, channels: ch, publish: (channel, ev) => void log.push({ channel, ev: ev as UserEvent }) });
      return { store, keys: null, epochOf: () => store.epoch(), events: async (userId) => log.filter((e) => e.channel === ch.user(userId)).map((e) => e.ev) };
    },
  },
  redisSetup('redis'),
  redisSetup('cluster'),
];

/**
 * The Redis store on the single test Redis or on the test cluster: the same code, every script
 * on one slot (on the cluster, a script given keys of two slots fails with CROSSSLOT).
 */
function redisSetup(name: 'redis' | 'cluster'): Setup {
  const conn = (): Redis | Cluster => (name === 'redis' ? redis : cluster);
  const fresh = () => {
    const prefix = uniquePrefix();
    (name === 'redis' ? prefixesToDelete : clusterPrefixes).push(prefix);
    return prefix;
  };
  const epochOf = (store: Store, prefix: string) => async (userId: string) => {
    await store.epoch(); // makes every partition's
    return Number(await conn().get(keySpace(prefix).partitionOf(userId).epoch));
  };
  return {
    name,
    make: ({ cap = 100 } = {}) => {
      const prefix = fresh();
      const store = createRedisStore({ redis: conn(), cap, prefix, channels: channelNames(prefix) });
      return {
        store,
        // Day counters ({p:N}:stats:DAY) and resend guards ({…}:req:MINUTE) go by their own TTL,
        // not by pruning: see 'daily stats' and test/redis-partitions.test.ts.
        keys: async () => (await scanKeys(prefix, conn())).filter((k) => !/:stats:|:req:/.test(k)),
        epochOf: epochOf(store, prefix),
      };
    },
    async record({ cap = 100, users = RECORDED } = {}) {
      const prefix = fresh();
      const ch = channelNames(prefix);
      const sub = name === 'redis' ? newRedis() : newCluster({ sharded: true });
      subscribers.push(sub);
      const log: { channel: string; msg: string }[] = [];
      const waiting: (() => void)[] = [];
      // User events are sharded channels: no pattern subscriptions, so the users are named up front.
      sub.on('smessage', (channel: string, msg: string) => {
        log.push({ channel, msg });
        if (msg === BARRIER) waiting.splice(0).forEach((w) => w());
      });
      for (const u of users) await sub.ssubscribe(ch.user(u));
      const store = createRedisStore({ redis: conn(), cap, prefix, channels: ch });
      return {
        store,
        keys: null,
        epochOf: epochOf(store, prefix),
        async events(userId) {
          if (!users.includes(userId)) throw new Error(`record() listens to ${users.join(', ')} only`);
          // Published after everything before it on the same channel: delivered after it too.
          const seen = new Promise<void>((r) => waiting.push(r));
          await conn().spublish(ch.user(userId), BARRIER);
          await seen;
          return log.filter((e) => e.channel === ch.user(userId) && e.msg !== BARRIER).flatMap((e) => [JSON.parse(e.msg) as UserEvent | UserEvent[]].flat());
        },
      };
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

export interface ContentOpts {
  type?: string;
  title?: string;
  priority?: Priority;
  /** expiresAt = now + ttl */
  ttl?: number;
  data?: unknown;
}

export interface ItemOpts extends ContentOpts {
  dedupKey?: string;
  window?: number;
}

export function content(now: number, o: ContentOpts = {}): NotificationContent {
  return {
    type: o.type ?? 'news',
    title: o.title ?? `title ${now - T0}`,
    body: `body ${now - T0}`,
    data: o.data === undefined ? { at: now - T0, tags: ['x', 1] } : o.data,
    priority: o.priority ?? 'NORMAL',
    createdAt: now,
    expiresAt: now + (o.ttl ?? HOUR),
  };
}

export function newItem(now: number, o: ItemOpts = {}): NewItem {
  const item: NewItem = { content: content(now, o), dedupWindowMs: o.window ?? 0 };
  if (o.dedupKey !== undefined) item.dedupKey = o.dedupKey;
  return item;
}

export function newBroadcast(now: number, o: ItemOpts & { saveOffline?: boolean } = {}): NewBroadcast {
  return { ...newItem(now, o), saveOffline: o.saveOffline ?? true };
}

export const statuses = (outs: SendOutcome[]) => outs.map((o) => o.status);

export function storedOf(o: SendOutcome | undefined): Notification {
  if (o?.status !== 'stored') throw new Error(`expected 'stored', got ${o?.status}`);
  return o.notification;
}

/** Sends one own item to one user and returns it (it must be stored). */
export async function sendOne(store: Store, userId: string, now: number, o: ItemOpts = {}): Promise<Notification> {
  const [out] = await store.send([userId], newItem(now, o), now);
  return storedOf(out);
}

export interface Sent {
  rec: BroadcastRecord;
  content: NotificationContent;
  /** the broadcast as `userId` sees it in the inbox */
  view(userId: string, readAt?: number | null): Notification;
}

export async function broadcast(store: Store, now: number, o: ItemOpts & { saveOffline?: boolean } = {}): Promise<Sent> {
  const b = newBroadcast(now, o);
  const rec = await store.broadcast(b, now);
  return {
    rec,
    content: b.content,
    view: (userId, readAt = null) => ({ ...b.content, id: rec.id, userId, readAt, broadcastId: rec.id }),
  };
}

/** Ids of the whole (filtered) inbox, newest first. */
export async function listIds(store: Store, userId: string, now: number, filter?: NotificationFilter): Promise<string[]> {
  const page = await store.list(userId, { first: 1_000, filter: filter ?? null }, now);
  expect(page.hasNextPage).toBe(false);
  return page.items.map((n) => n.id);
}

/** Walks every page of `first`, checking the page flags and that counts don't change on the way. */
export async function walk(store: Store, userId: string, first: number, now: number, filter?: NotificationFilter) {
  const pages: Page[] = [];
  let after: string | null = null;
  for (;;) {
    const page: Page = await store.list(userId, { first, after, filter: filter ?? null }, now);
    pages.push(page);
    expect(page.hasPreviousPage).toBe(after !== null);
    expect(page.items.length).toBeLessThanOrEqual(first);
    if (!page.hasNextPage) break;
    expect(page.items).toHaveLength(first);
    after = page.items.at(-1)!.id;
    if (pages.length > 100) throw new Error('pagination does not end');
  }
  const totals = new Set(pages.map((p) => `${p.totalCount}/${p.unreadCount}`));
  expect(totals.size).toBe(1);
  return { ids: pages.flatMap((p) => p.items.map((n) => n.id)), pages, totalCount: pages[0]!.totalCount, unreadCount: pages[0]!.unreadCount };
}

export const userRec = (id: string, createdAt: number, o: Partial<UserRecord> = {}): UserRecord => ({
  id,
  displayName: null,
  active: true,
  createdAt,
  preferences: { mutedTypes: [], channels: [] },
  ...o,
});

export const seqOf = (id: string) => {
  const n = decodeSeq(id);
  if (n === null) throw new Error(`not an issued id: ${id}`);
  return n;
};

// ---------------------------------------------------------------------------------------------
