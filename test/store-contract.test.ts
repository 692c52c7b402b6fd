/**
 * The Store contract (src/store/store.ts), run unchanged against every backend: the same
 * table-driven suite for the memory store and the Redis store (Lua in src/store/redis/lua).
 *
 * Time is a parameter: every call gets `now` explicitly, starting at T0 and only moving
 * forward; nothing sleeps. Each Redis store lives under its own key prefix, deleted after
 * each test, on the private server from test/global-setup.ts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { clockSeq, decodeSeq, encodeSeq } from '../src/notifications/ids.js';
import type {
  BroadcastRecord,
  Notification,
  NotificationContent,
  NotificationFilter,
  NotificationTypePolicy,
  Priority,
  Template,
  UserRecord,
} from '../src/notifications/types.js';
import { createMemoryStore } from '../src/store/memory/memory-store.js';
import { STATS_TTL_MS, statsKey } from '../src/store/redis/keys.js';
import { createRedisStore } from '../src/store/redis/redis-store.js';
import { deliverScheduled, type NewBroadcast, type NewItem, type Page, type SendOutcome, type Store } from '../src/store/store.js';
import { deleteByPrefix, newRedis, uniquePrefix, withRedis } from './helpers/redis.js';
import { channels as channelNames } from '../src/realtime/channels.js';
import type { UserEvent } from '../src/realtime/events.js';
import type { Redis } from 'ioredis';

const T0 = Date.now();
const SEC = 1_000;
const MIN = 60 * SEC;
const HOUR = 60 * MIN;

// ---------------------------------------------------------------------------------------------
// Backends
// ---------------------------------------------------------------------------------------------

const redis = withRedis();
const prefixesToDelete: string[] = [];
const subscribers: Redis[] = [];
afterEach(async () => {
  for (const p of prefixesToDelete.splice(0)) await deleteByPrefix(redis, p);
  await Promise.all(subscribers.splice(0).map((s) => s.quit().catch(() => s.disconnect())));
});

/** Every key under `prefix`, prefix stripped, sorted (SCAN, never KEYS). */
async function scanKeys(prefix: string): Promise<string[]> {
  const out = new Set<string>();
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    for (const k of keys) out.add(k.slice(prefix.length));
  } while (cursor !== '0');
  return [...out].sort();
}

interface Made {
  store: Store;
  /** Redis only: the keys the store holds (prefix stripped, sorted); null for memory. */
  keys: (() => Promise<string[]>) | null;
}

interface Recorded extends Made {
  /** the events published so far on `userId`'s channel, in order (every one published before the call) */
  events(userId: string): Promise<UserEvent[]>;
}

interface Setup {
  name: 'memory' | 'redis';
  make(opts?: { cap?: number }): Made;
  /** a store whose published events are recorded (memory: its publish hook; Redis: a subscriber) */
  record(opts?: { cap?: number }): Promise<Recorded>;
}

const BARRIER = '{"kind":"barrier"}';

const setups: Setup[] = [
  {
    name: 'memory',
    make: ({ cap = 100 } = {}) => ({ store: createMemoryStore({ cap }), keys: null }),
    async record({ cap = 100 } = {}) {
      const log: { channel: string; ev: UserEvent }[] = [];
      const ch = channelNames();
      const store = createMemoryStore({ cap, channels: ch, publish: (channel, ev) => void log.push({ channel, ev: ev as UserEvent }) });
      return { store, keys: null, events: async (userId) => log.filter((e) => e.channel === ch.user(userId)).map((e) => e.ev) };
    },
  },
  {
    name: 'redis',
    make: ({ cap = 100 } = {}) => {
      const prefix = uniquePrefix();
      prefixesToDelete.push(prefix);
      // Day counters ({g}:stats:DAY) go by their own TTL, not by pruning: see 'daily stats'.
      return { store: createRedisStore({ redis, cap, prefix, channels: channelNames(prefix) }), keys: async () => (await scanKeys(prefix)).filter((k) => !k.startsWith('{g}:stats:')) };
    },
    async record({ cap = 100 } = {}) {
      const prefix = uniquePrefix();
      prefixesToDelete.push(prefix);
      const ch = channelNames(prefix);
      const sub = newRedis();
      subscribers.push(sub);
      const log: { channel: string; msg: string }[] = [];
      const waiting: (() => void)[] = [];
      sub.on('pmessage', (_pattern, channel, msg) => {
        log.push({ channel, msg });
        if (msg === BARRIER) waiting.splice(0).forEach((w) => w());
      });
      await sub.psubscribe(`${prefix}{u:*}:events`);
      return {
        store: createRedisStore({ redis, cap, prefix, channels: channelNames(prefix) }),
        keys: null,
        async events(userId) {
          // Published after everything before it on the same connection: delivered after it too.
          const seen = new Promise<void>((r) => waiting.push(r));
          await redis.publish(ch.user(userId), BARRIER);
          await seen;
          return log.filter((e) => e.channel === ch.user(userId) && e.msg !== BARRIER).map((e) => JSON.parse(e.msg) as UserEvent);
        },
      };
    },
  },
];

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

interface ContentOpts {
  type?: string;
  title?: string;
  priority?: Priority;
  /** expiresAt = now + ttl */
  ttl?: number;
  data?: unknown;
}

interface ItemOpts extends ContentOpts {
  dedupKey?: string;
  window?: number;
}

function content(now: number, o: ContentOpts = {}): NotificationContent {
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

function newItem(now: number, o: ItemOpts = {}): NewItem {
  const item: NewItem = { content: content(now, o), dedupWindowMs: o.window ?? 0 };
  if (o.dedupKey !== undefined) item.dedupKey = o.dedupKey;
  return item;
}

function newBroadcast(now: number, o: ItemOpts & { saveOffline?: boolean } = {}): NewBroadcast {
  return { ...newItem(now, o), saveOffline: o.saveOffline ?? true };
}

const statuses = (outs: SendOutcome[]) => outs.map((o) => o.status);

function storedOf(o: SendOutcome | undefined): Notification {
  if (o?.status !== 'stored') throw new Error(`expected 'stored', got ${o?.status}`);
  return o.notification;
}

/** Sends one own item to one user and returns it (it must be stored). */
async function sendOne(store: Store, userId: string, now: number, o: ItemOpts = {}): Promise<Notification> {
  const [out] = await store.send([userId], newItem(now, o), now);
  return storedOf(out);
}

interface Sent {
  rec: BroadcastRecord;
  content: NotificationContent;
  /** the broadcast as `userId` sees it in the inbox */
  view(userId: string, readAt?: number | null): Notification;
}

async function broadcast(store: Store, now: number, o: ItemOpts & { saveOffline?: boolean } = {}): Promise<Sent> {
  const b = newBroadcast(now, o);
  const rec = await store.broadcast(b, now);
  return {
    rec,
    content: b.content,
    view: (userId, readAt = null) => ({ ...b.content, id: rec.id, userId, readAt, broadcastId: rec.id }),
  };
}

/** Ids of the whole (filtered) inbox, newest first. */
async function listIds(store: Store, userId: string, now: number, filter?: NotificationFilter): Promise<string[]> {
  const page = await store.list(userId, { first: 1_000, filter: filter ?? null }, now);
  expect(page.hasNextPage).toBe(false);
  return page.items.map((n) => n.id);
}

/** Walks every page of `first`, checking the page flags and that counts don't change on the way. */
async function walk(store: Store, userId: string, first: number, now: number, filter?: NotificationFilter) {
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

const userRec = (id: string, createdAt: number, o: Partial<UserRecord> = {}): UserRecord => ({
  id,
  displayName: null,
  active: true,
  createdAt,
  preferences: { mutedTypes: [], channels: [] },
  ...o,
});

const seqOf = (id: string) => {
  const n = decodeSeq(id);
  if (n === null) throw new Error(`not an issued id: ${id}`);
  return n;
};

// ---------------------------------------------------------------------------------------------
// The contract
// ---------------------------------------------------------------------------------------------

describe.each(setups)('$name store', ({ name, make, record }) => {
  it('has its kind and answers ping', async () => {
    const { store } = make();
    expect(store.kind).toBe(name);
    expect(await store.ping()).toBe(true);
  });

  describe('ids', () => {
    it('come from one sequence, fixed-width base36; later is larger; broadcasts share the order; never below the clock', async () => {
      const { store } = make();
      const clockBefore = clockSeq();
      const first = await sendOne(store, 'a', T0);
      // The floor is the clock in µs (Redis' clock on Redis: the same host here; 1 s of slack).
      expect(seqOf(first.id)).toBeGreaterThanOrEqual(clockBefore - 1_000_000);

      // 40 ids in one call: consecutive once the sequence runs ahead of the clock, or clock values
      const users = Array.from({ length: 40 }, (_, i) => `u${i}`);
      const many = (await store.send(users, newItem(T0 + 1), T0 + 1)).map(storedOf);
      expect(many.map((n) => n.userId)).toEqual(users);

      const b = await broadcast(store, T0 + 2);
      const last = await sendOne(store, 'a', T0 + 3);
      const ordered = [first.id, ...many.map((n) => n.id), b.rec.id, last.id];
      const nums = ordered.map(seqOf);
      for (let i = 1; i < nums.length; i++) expect(nums[i]).toBeGreaterThan(nums[i - 1]!);
      // string order = numeric order
      expect([...ordered].sort()).toEqual(ordered);
      expect(encodeSeq(nums[0]!)).toBe(first.id);
      for (const id of ordered) expect(id).toMatch(/^[0-9a-z]{11}$/);
      // the broadcast sits between a's own items, by id
      expect(await listIds(store, 'a', T0 + 4)).toEqual([last.id, b.rec.id, first.id]);
    });
  });

  describe('send', () => {
    it('creates unknown users (active) and returns one outcome per user', async () => {
      const { store } = make();
      expect(await store.getUsers(['a', 'b'])).toEqual([null, null]);
      const c = content(T0, { type: 'order.shipped', priority: 'HIGH', data: { order: 7, lines: [{ sku: 'x' }] } });
      const outs = await store.send(['a', 'b'], { content: c, dedupWindowMs: 0 }, T0);
      const [idA, idB] = outs.map((o) => storedOf(o).id);
      expect(seqOf(idB!)).toBeGreaterThan(seqOf(idA!));
      expect(outs).toEqual([
        { userId: 'a', status: 'stored', notification: { ...c, id: idA, userId: 'a', readAt: null, broadcastId: null } },
        { userId: 'b', status: 'stored', notification: { ...c, id: idB, userId: 'b', readAt: null, broadcastId: null } },
      ]);
      expect(await store.getUsers(['a', 'b'])).toEqual([userRec('a', T0), userRec('b', T0)]);
      expect(await store.countActiveUsers()).toBe(2);
      expect(await store.list('a', { first: 10 }, T0 + 1)).toEqual({
        items: [storedOf(outs[0])],
        hasNextPage: false,
        hasPreviousPage: false,
        totalCount: 1,
        unreadCount: 1,
      });
      expect(await store.get('b', [idB!], T0 + 1)).toEqual([storedOf(outs[1])]);

      // data null round-trips as null
      const n = await sendOne(store, 'a', T0 + 2, { data: null });
      expect(n.data).toBeNull();
      expect((await store.get('a', [n.id], T0 + 3))[0]?.data).toBeNull();

      // an existing user is left as it was
      await store.upsertUser('b', { displayName: 'Bee' }, T0 + 4);
      await sendOne(store, 'b', T0 + 5);
      expect(await store.getUsers(['b'])).toEqual([userRec('b', T0, { displayName: 'Bee' })]);
      expect(await store.send([], newItem(T0 + 6), T0 + 6)).toEqual([]);
    });

    it('dedup: one copy per (user, key) inside the window, per user, again once the window has passed', async () => {
      const { store } = make();
      const W = 10 * SEC;
      const s = async (users: string[], now: number, key = 'k1') =>
        statuses(await store.send(users, newItem(now, { dedupKey: key, window: W }), now));

      expect(await s(['a'], T0)).toEqual(['stored']);
      expect(await s(['a', 'b'], T0 + W - 1)).toEqual(['deduplicated', 'stored']); // per user
      expect(await s(['a'], T0 + W - 1, 'k2')).toEqual(['stored']); // per key
      expect(await s(['a'], T0 + W)).toEqual(['stored']); // a's window [T0, T0+W) is over
      expect(await s(['b'], T0 + W)).toEqual(['deduplicated']); // b's runs to T0+2W-1
      expect(await s(['a'], T0 + 2 * W - 1)).toEqual(['deduplicated']); // a's new window from T0+W
      expect(await s(['b'], T0 + 2 * W - 1)).toEqual(['stored']);

      // no key: no dedup
      expect(statuses(await store.send(['a', 'a'], newItem(T0 + 2 * W), T0 + 2 * W))).toEqual(['stored', 'stored']);

      expect((await store.list('a', { first: 10 }, T0 + 2 * W)).totalCount).toBe(5);
      expect((await store.list('b', { first: 10 }, T0 + 2 * W)).totalCount).toBe(2);
    });

    it('dedup holds under 50 concurrent identical sends: exactly 1 stored, 49 deduplicated', async () => {
      const { store } = make();
      const results = await Promise.all(
        Array.from({ length: 50 }, () => store.send(['fresh'], newItem(T0, { dedupKey: 'same', window: MIN }), T0)),
      );
      const all = results.flat().map((o) => o.status);
      expect(all).toHaveLength(50);
      expect(all.filter((s) => s === 'stored')).toHaveLength(1);
      expect(all.filter((s) => s === 'deduplicated')).toHaveLength(49);
      const page = await store.list('fresh', { first: 100 }, T0 + 1);
      expect(page.totalCount).toBe(1);
      expect(page.unreadCount).toBe(1);
      expect(await store.countActiveUsers()).toBe(1);
    });

    it("mute: a muted user gets 'muted' and nothing is stored; dedup is checked before mute", async () => {
      const { store } = make();
      await store.updatePreferences('a', { mutedTypes: ['promo'] }, T0);
      const promo = (now: number, dedupKey?: string) => newItem(now, { type: 'promo', dedupKey, window: MIN });

      expect(statuses(await store.send(['a', 'b'], promo(T0 + 1, 'p1'), T0 + 1))).toEqual(['muted', 'stored']);
      expect(statuses(await store.send(['a'], promo(T0 + 2), T0 + 2))).toEqual(['muted']);
      // dedup first: the muted attempt opened a's window too
      expect(statuses(await store.send(['a', 'b'], promo(T0 + 3, 'p1'), T0 + 3))).toEqual(['deduplicated', 'deduplicated']);
      expect(await listIds(store, 'a', T0 + 3)).toEqual([]);

      const news = await sendOne(store, 'a', T0 + 4, { type: 'news' });
      await store.updatePreferences('a', { mutedTypes: [] }, T0 + 5);
      expect(statuses(await store.send(['a'], promo(T0 + 6, 'p1'), T0 + 6))).toEqual(['deduplicated']);
      const p2 = storedOf((await store.send(['a'], promo(T0 + 7, 'p2'), T0 + 7))[0]);
      expect(await listIds(store, 'a', T0 + 8)).toEqual([p2.id, news.id]);
      expect((await store.list('b', { first: 10 }, T0 + 8)).totalCount).toBe(1);
    });
  });

  describe('cap', () => {
    it('keeps the newest items; an item pushed out never comes back', async () => {
      const { store } = make({ cap: 5 });
      const sent: Notification[] = [];
      // the three newest expire early (at T0+i+SEC)
      for (let i = 0; i < 8; i++) sent.push(await sendOne(store, 'a', T0 + i, { ttl: i >= 5 ? SEC : HOUR }));
      const id = sent.map((n) => n.id);

      const page = await store.list('a', { first: 10 }, T0 + 10);
      expect(page.items.map((n) => n.id)).toEqual([id[7], id[6], id[5], id[4], id[3]]);
      expect(page.totalCount).toBe(5);
      expect(page.unreadCount).toBe(5);
      expect(await store.unreadCounts(['a'], T0 + 10)).toEqual([5]);
      expect(await store.get('a', id.slice(0, 3), T0 + 10)).toEqual([null, null, null]);
      expect(await store.markRead('a', [id[0]!], T0 + 10)).toEqual([]);

      expect(await store.delete('a', [id[7]!, id[0]!], T0 + 11)).toBe(1);
      expect(await listIds(store, 'a', T0 + 11)).toEqual([id[6], id[5], id[4], id[3]]);
      // id[5] expires at T0+5+SEC, id[6] at T0+6+SEC
      expect(await listIds(store, 'a', T0 + 5 + SEC)).toEqual([id[6], id[4], id[3]]);
      expect(await listIds(store, 'a', T0 + 6 + SEC)).toEqual([id[4], id[3]]);
      expect(await store.unreadCounts(['a'], T0 + 6 + SEC)).toEqual([2]);
      expect(await store.markAllRead('a', T0 + 6 + SEC)).toBe(2);
      // a new item is the only one that can take the free places
      const next = await sendOne(store, 'a', T0 + 7 + SEC);
      expect(await listIds(store, 'a', T0 + 7 + SEC)).toEqual([next.id, id[4], id[3]]);
    });
  });

  describe('list', () => {
    it('is newest first; first/after walks the inbox with no gap or duplicate', async () => {
      const { store } = make();
      const id: string[] = [];
      for (let i = 0; i < 7; i++) id.push((await sendOne(store, 'a', T0 + i)).id);
      const newest = [...id].reverse();

      const p1 = await store.list('a', { first: 3 }, T0 + 10);
      expect(p1.items.map((n) => n.id)).toEqual(newest.slice(0, 3));
      expect([p1.hasNextPage, p1.hasPreviousPage, p1.totalCount, p1.unreadCount]).toEqual([true, false, 7, 7]);
      const p2 = await store.list('a', { first: 3, after: p1.items.at(-1)!.id }, T0 + 10);
      expect(p2.items.map((n) => n.id)).toEqual(newest.slice(3, 6));
      expect([p2.hasNextPage, p2.hasPreviousPage, p2.totalCount, p2.unreadCount]).toEqual([true, true, 7, 7]);
      const p3 = await store.list('a', { first: 3, after: p2.items.at(-1)!.id }, T0 + 10);
      expect(p3.items.map((n) => n.id)).toEqual([id[0]]);
      expect([p3.hasNextPage, p3.hasPreviousPage]).toEqual([false, true]);
      const p4 = await store.list('a', { first: 3, after: id[0] }, T0 + 10);
      expect(p4.items).toEqual([]);
      expect([p4.hasNextPage, p4.hasPreviousPage, p4.totalCount]).toEqual([false, true, 7]);

      // a page that ends exactly at the oldest item has no next page
      const exact = await store.list('a', { first: 2, after: id[2] }, T0 + 10);
      expect(exact.items.map((n) => n.id)).toEqual([id[1], id[0]]);
      expect(exact.hasNextPage).toBe(false);
      expect((await store.list('a', { first: 7 }, T0 + 10)).hasNextPage).toBe(false);
      expect((await store.list('a', { first: 6 }, T0 + 10)).hasNextPage).toBe(true);

      for (const first of [1, 2, 3, 4, 6, 7, 8]) {
        const w = await walk(store, 'a', first, T0 + 10);
        expect(w.ids).toEqual(newest);
        expect(w.pages).toHaveLength(Math.max(1, Math.ceil(7 / first)));
      }

      // an unknown user has an empty inbox
      expect(await store.list('nobody', { first: 5 }, T0 + 10)).toEqual({
        items: [],
        hasNextPage: false,
        hasPreviousPage: false,
        totalCount: 0,
        unreadCount: 0,
      });
    });

    it('counts totalCount/unreadCount and filters unreadOnly, with pagination', async () => {
      const { store } = make();
      const id: string[] = [];
      for (let i = 0; i < 6; i++) id.push((await sendOne(store, 'a', T0 + i)).id);
      await store.markRead('a', [id[1]!, id[4]!], T0 + 10);

      const all = await store.list('a', { first: 10 }, T0 + 11);
      expect([all.totalCount, all.unreadCount]).toEqual([6, 4]);
      expect(all.items.map((n) => n.readAt)).toEqual([null, T0 + 10, null, null, T0 + 10, null]);

      const unreadIds = [id[5], id[3], id[2], id[0]];
      const u = await store.list('a', { first: 10, filter: { unreadOnly: true } }, T0 + 11);
      expect(u.items.map((n) => n.id)).toEqual(unreadIds);
      expect([u.totalCount, u.unreadCount]).toEqual([4, 4]);
      for (const first of [1, 3]) {
        const w = await walk(store, 'a', first, T0 + 11, { unreadOnly: true });
        expect(w.ids).toEqual(unreadIds);
        expect([w.totalCount, w.unreadCount]).toEqual([4, 4]);
      }
      // unreadOnly:false is no filter
      expect((await store.list('a', { first: 10, filter: { unreadOnly: false } }, T0 + 11)).totalCount).toBe(6);
    });

    it('filters by types and minPriority (LOW<NORMAL<HIGH<URGENT), combined with pagination and unreadOnly', async () => {
      const { store } = make();
      const spec: [string, Priority][] = [
        ['alert', 'LOW'], // 1
        ['promo', 'NORMAL'], // 2
        ['alert', 'HIGH'], // 3 read
        ['promo', 'URGENT'], // 4 read
        ['alert', 'NORMAL'], // 5
        ['system', 'HIGH'], // 6
        ['alert', 'URGENT'], // 7
        ['promo', 'LOW'], // 8 read
      ];
      const id: Record<number, string> = {};
      for (const [i, [type, priority]] of spec.entries()) id[i + 1] = (await sendOne(store, 'a', T0 + i, { type, priority })).id;
      await store.markRead('a', [id[3]!, id[4]!, id[8]!], T0 + 20);
      const now = T0 + 21;
      const ids = (...ns: number[]) => ns.map((n) => id[n]!);

      const check = async (filter: NotificationFilter, expected: string[], unread: number) => {
        const page = await store.list('a', { first: 100, filter }, now);
        expect(page.items.map((n) => n.id)).toEqual(expected);
        expect(page.totalCount).toBe(expected.length);
        expect(page.unreadCount).toBe(unread);
        for (const first of [2]) {
          const w = await walk(store, 'a', first, now, filter);
          expect(w.ids).toEqual(expected);
          expect([w.totalCount, w.unreadCount]).toEqual([expected.length, unread]);
        }
      };

      await check({ types: ['alert'] }, ids(7, 5, 3, 1), 3);
      await check({ minPriority: 'HIGH' }, ids(7, 6, 4, 3), 2);
      await check({ minPriority: 'URGENT' }, ids(7, 4), 1);
      await check({ types: ['alert', 'promo'], minPriority: 'NORMAL' }, ids(7, 5, 4, 3, 2), 3);
      await check({ types: ['alert'], unreadOnly: true }, ids(7, 5, 1), 3);
      await check({ types: ['promo'], minPriority: 'LOW', unreadOnly: true }, ids(2), 1);
      // a content filter that matches everything still counts unread among the matches
      await check({ minPriority: 'LOW' }, ids(8, 7, 6, 5, 4, 3, 2, 1), 5);
      // with a content filter unreadCount is among matching items: 0 here, not the inbox's 5
      await check({ types: ['nope'] }, [], 0);
      await check({ types: ['promo'] }, ids(8, 4, 2), 1);
      // without a content filter it is the whole inbox's unread count
      await check({}, ids(8, 7, 6, 5, 4, 3, 2, 1), 5);
      await check({ unreadOnly: true }, ids(7, 6, 5, 2, 1), 5);
      await check({ types: null, minPriority: null, unreadOnly: null }, ids(8, 7, 6, 5, 4, 3, 2, 1), 5);

      // explicit page flags with a filter
      const f: NotificationFilter = { types: ['alert', 'promo'], minPriority: 'NORMAL' };
      const p1 = await store.list('a', { first: 2, filter: f }, now);
      expect(p1.items.map((n) => n.id)).toEqual(ids(7, 5));
      expect([p1.hasNextPage, p1.hasPreviousPage, p1.totalCount, p1.unreadCount]).toEqual([true, false, 5, 3]);
      const p2 = await store.list('a', { first: 2, after: id[5], filter: f }, now);
      expect(p2.items.map((n) => n.id)).toEqual(ids(4, 3));
      expect([p2.hasNextPage, p2.hasPreviousPage]).toEqual([true, true]);
      const p3 = await store.list('a', { first: 2, after: id[3], filter: f }, now);
      expect(p3.items.map((n) => n.id)).toEqual(ids(2));
      expect([p3.hasNextPage, p3.hasPreviousPage, p3.totalCount, p3.unreadCount]).toEqual([false, true, 5, 3]);
      // the cursor may be an item the filter doesn't match (6 is 'system')
      const p4 = await store.list('a', { first: 10, after: id[6], filter: f }, now);
      expect(p4.items.map((n) => n.id)).toEqual(ids(5, 4, 3, 2));
      expect(p4.hasPreviousPage).toBe(true);
    });
  });

  describe('expiry', () => {
    it('items with expiresAt <= now never appear; unread counts are exact at every moment', async () => {
      const { store } = make();
      const A = await sendOne(store, 'a', T0, { ttl: 1000 });
      const B = await sendOne(store, 'a', T0, { ttl: 2000 });
      const C = await sendOne(store, 'a', T0, { ttl: 3000 });
      const X = await sendOne(store, 'b', T0, { ttl: 1200 });
      const D = await broadcast(store, T0 + 10, { ttl: 1500 }); // expires at T0+1510, a and b get it
      expect(D.rec.recipients).toBe(2);
      expect(await store.markRead('a', [B.id], T0 + 20)).toHaveLength(1);
      const aAll = [A.id, B.id, C.id, D.rec.id];

      const at = async (now: number, aIds: string[], aUnread: number, bIds: string[], bUnread: number) => {
        // counts first, so the first call to notice an expiry is unreadCounts
        expect(await store.unreadCounts(['a', 'b', 'nobody'], now)).toEqual([aUnread, bUnread, 0]);
        const pa = await store.list('a', { first: 10 }, now);
        expect(pa.items.map((n) => n.id)).toEqual(aIds);
        expect([pa.totalCount, pa.unreadCount]).toEqual([aIds.length, aUnread]);
        expect((await store.get('a', aAll, now)).map((n) => n?.id ?? null)).toEqual(aAll.map((i) => (aIds.includes(i) ? i : null)));
        const pb = await store.list('b', { first: 10, filter: { minPriority: 'LOW' } }, now);
        expect(pb.items.map((n) => n.id)).toEqual(bIds);
        expect([pb.totalCount, pb.unreadCount]).toEqual([bIds.length, bUnread]);
      };

      await at(T0 + 999, [D.rec.id, C.id, B.id, A.id], 3, [D.rec.id, X.id], 2);
      await at(T0 + 1000, [D.rec.id, C.id, B.id], 2, [D.rec.id, X.id], 2);
      expect(await store.markRead('a', [A.id], T0 + 1000)).toEqual([]);
      expect(await store.delete('a', [A.id], T0 + 1000)).toBe(0);
      await at(T0 + 1199, [D.rec.id, C.id, B.id], 2, [D.rec.id, X.id], 2);
      await at(T0 + 1200, [D.rec.id, C.id, B.id], 2, [D.rec.id], 1);
      await at(T0 + 1509, [D.rec.id, C.id, B.id], 2, [D.rec.id], 1);
      await at(T0 + 1510, [C.id, B.id], 1, [], 0);
      await at(T0 + 1999, [C.id, B.id], 1, [], 0);
      await at(T0 + 2000, [C.id], 1, [], 0);
      await at(T0 + 2999, [C.id], 1, [], 0);
      expect(await store.markAllRead('a', T0 + 3000)).toBe(0);
      await at(T0 + 3000, [], 0, [], 0);
    });
  });

  describe('markRead / markUnread / markAllRead / delete', () => {
    it('markRead returns the found notifications after the change; readAt is set once; markUnread clears it', async () => {
      const { store } = make();
      const A = await sendOne(store, 'a', T0);
      const B = await sendOne(store, 'a', T0 + 1);

      expect(await store.markRead('a', [A.id, 'nope', encodeSeq(999)], T0 + 10)).toEqual([{ ...A, readAt: T0 + 10 }]);
      // order of the request; A keeps its first readAt
      expect(await store.markRead('a', [B.id, A.id], T0 + 20)).toEqual([
        { ...B, readAt: T0 + 20 },
        { ...A, readAt: T0 + 10 },
      ]);
      expect(await store.get('a', [A.id, B.id], T0 + 21)).toEqual([
        { ...A, readAt: T0 + 10 },
        { ...B, readAt: T0 + 20 },
      ]);
      expect(await store.unreadCounts(['a'], T0 + 21)).toEqual([0]);

      expect(await store.markUnread('a', [A.id, 'nope'], T0 + 30)).toEqual([{ ...A, readAt: null }]);
      expect(await store.markUnread('a', [A.id], T0 + 31)).toEqual([{ ...A, readAt: null }]);
      expect(await store.unreadCounts(['a'], T0 + 31)).toEqual([1]);
      const page = await store.list('a', { first: 10 }, T0 + 31);
      expect(page.items).toEqual([
        { ...B, readAt: T0 + 20 },
        { ...A, readAt: null },
      ]);
      expect(page.unreadCount).toBe(1);
      // read again after unread: a fresh readAt
      expect(await store.markRead('a', [A.id], T0 + 40)).toEqual([{ ...A, readAt: T0 + 40 }]);

      expect(await store.markRead('a', [], T0 + 41)).toEqual([]);
      expect(await store.markUnread('a', [], T0 + 41)).toEqual([]);
      expect(await store.markRead('nobody', [A.id], T0 + 41)).toEqual([]);
    });

    it('markAllRead returns how many changed and keeps earlier readAt', async () => {
      const { store } = make();
      const n: Notification[] = [];
      for (let i = 0; i < 4; i++) n.push(await sendOne(store, 'a', T0 + i));
      const other = await sendOne(store, 'b', T0 + 5);
      await store.markRead('a', [n[1]!.id], T0 + 10);

      expect(await store.markAllRead('a', T0 + 20)).toBe(3);
      expect((await store.get('a', n.map((x) => x.id), T0 + 21)).map((x) => x?.readAt)).toEqual([T0 + 20, T0 + 10, T0 + 20, T0 + 20]);
      expect(await store.markAllRead('a', T0 + 30)).toBe(0);
      expect(await store.unreadCounts(['a', 'b'], T0 + 30)).toEqual([0, 1]);
      expect(await store.get('b', [other.id], T0 + 30)).toEqual([other]);
      expect(await store.markAllRead('nobody', T0 + 30)).toBe(0);
    });

    it('delete returns how many were removed (duplicates and unknown ids count nothing)', async () => {
      const { store } = make();
      const A = await sendOne(store, 'a', T0);
      const B = await sendOne(store, 'a', T0 + 1);
      const C = await sendOne(store, 'a', T0 + 2);
      await store.markRead('a', [B.id], T0 + 3);

      expect(await store.delete('a', [A.id, A.id, 'nope', encodeSeq(999), B.id], T0 + 10)).toBe(2);
      const page = await store.list('a', { first: 10 }, T0 + 10);
      expect(page.items).toEqual([C]);
      expect([page.totalCount, page.unreadCount]).toEqual([1, 1]);
      expect(await store.get('a', [A.id, B.id], T0 + 10)).toEqual([null, null]);
      expect(await store.delete('a', [A.id], T0 + 11)).toBe(0);
      expect(await store.delete('a', [], T0 + 11)).toBe(0);
      expect(await store.delete('nobody', [C.id], T0 + 11)).toBe(0);
      expect(await store.markUnread('a', [B.id], T0 + 12)).toEqual([]);
      expect(await store.unreadCounts(['a'], T0 + 12)).toEqual([1]);
    });

    it("a user never reads or changes another's notifications", async () => {
      const { store } = make();
      const X = await sendOne(store, 'a', T0);
      const Y = await sendOne(store, 'b', T0 + 1);
      const B = await broadcast(store, T0 + 2); // both have it, under the same id

      expect(await store.markRead('b', [X.id, B.rec.id], T0 + 10)).toEqual([B.view('b', T0 + 10)]);
      expect(await store.get('b', [X.id, Y.id], T0 + 10)).toEqual([null, Y]);
      expect(await store.markUnread('b', [X.id], T0 + 11)).toEqual([]);
      expect(await store.delete('b', [X.id], T0 + 11)).toBe(0);

      expect(await store.get('a', [X.id, B.rec.id, Y.id], T0 + 12)).toEqual([X, B.view('a'), null]);
      expect(await store.unreadCounts(['a', 'b'], T0 + 12)).toEqual([2, 1]);

      expect(await store.delete('a', [B.rec.id, Y.id], T0 + 13)).toBe(1);
      expect(await store.get('b', [B.rec.id], T0 + 13)).toEqual([B.view('b', T0 + 10)]);
      expect(await store.markAllRead('b', T0 + 14)).toBe(1);
      expect(await store.unreadCounts(['a', 'b'], T0 + 14)).toEqual([1, 0]);
      expect(await store.get('a', [X.id], T0 + 14)).toEqual([X]);
    });
  });

  describe('users', () => {
    it('upsertUser creates and updates displayName (null clears) and active; getUsers in key order, null for missing', async () => {
      const { store } = make();
      await store.ensureUser('a', T0);
      expect(await store.getUsers(['a'])).toEqual([userRec('a', T0)]);

      expect(await store.upsertUser('b', { displayName: 'Bob' }, T0 + 1)).toEqual(userRec('b', T0 + 1, { displayName: 'Bob' }));
      expect(await store.upsertUser('b', {}, T0 + 2)).toEqual(userRec('b', T0 + 1, { displayName: 'Bob' }));
      expect(await store.upsertUser('b', { displayName: 'Zoë 🚀' }, T0 + 3)).toEqual(userRec('b', T0 + 1, { displayName: 'Zoë 🚀' }));
      expect(await store.upsertUser('b', { active: false }, T0 + 4)).toEqual(
        userRec('b', T0 + 1, { displayName: 'Zoë 🚀', active: false }),
      );
      expect(await store.countActiveUsers()).toBe(1);
      expect(await store.upsertUser('b', { displayName: null, active: true }, T0 + 5)).toEqual(userRec('b', T0 + 1));
      expect(await store.countActiveUsers()).toBe(2);
      expect(await store.upsertUser('b', { active: true }, T0 + 6)).toEqual(userRec('b', T0 + 1));
      expect(await store.countActiveUsers()).toBe(2);

      // created inactive
      const c = userRec('c', T0 + 7, { displayName: 'C', active: false });
      expect(await store.upsertUser('c', { displayName: 'C', active: false }, T0 + 7)).toEqual(c);
      expect(await store.countActiveUsers()).toBe(2);
      // ensureUser and send leave an existing user as it is
      await store.ensureUser('c', T0 + 8);
      await sendOne(store, 'c', T0 + 9);
      expect(await store.getUsers(['c', 'missing', 'a', 'b'])).toEqual([c, null, userRec('a', T0), userRec('b', T0 + 1)]);
      expect(await store.getUsers([])).toEqual([]);
      expect(await store.countActiveUsers()).toBe(2);

      // reads create nobody
      await store.list('ghost', { first: 5 }, T0 + 10);
      await store.unreadCounts(['ghost'], T0 + 10);
      await store.get('ghost', [encodeSeq(1)], T0 + 10);
      await store.markRead('ghost', [encodeSeq(1)], T0 + 10);
      await store.markAllRead('ghost', T0 + 10);
      await store.delete('ghost', [encodeSeq(1)], T0 + 10);
      expect(await store.getUsers(['ghost'])).toEqual([null]);
      expect(await store.countActiveUsers()).toBe(2);
    });

    it('updatePreferences replaces mutedTypes/channels, each only when given', async () => {
      const { store } = make();
      const channels = [
        { type: 'alert', channels: ['IN_APP' as const, 'WEBHOOK' as const] },
        { type: 'news', channels: ['TELEGRAM' as const] },
      ];
      expect(await store.updatePreferences('p', { mutedTypes: ['promo', 'digest', 'promo'] }, T0)).toEqual(
        userRec('p', T0, { preferences: { mutedTypes: ['promo', 'digest'], channels: [] } }),
      );
      expect(await store.countActiveUsers()).toBe(1);
      expect(await store.updatePreferences('p', { channels }, T0 + 1)).toEqual(
        userRec('p', T0, { preferences: { mutedTypes: ['promo', 'digest'], channels } }),
      );
      expect(await store.updatePreferences('p', { mutedTypes: [] }, T0 + 2)).toEqual(
        userRec('p', T0, { preferences: { mutedTypes: [], channels } }),
      );
      expect(await store.updatePreferences('p', {}, T0 + 3)).toEqual(userRec('p', T0, { preferences: { mutedTypes: [], channels } }));
      expect(await store.updatePreferences('p', { channels: [] }, T0 + 4)).toEqual(userRec('p', T0));
      await store.updatePreferences('p', { mutedTypes: ['x'], channels }, T0 + 5);
      expect(await store.getUsers(['p'])).toEqual([userRec('p', T0, { preferences: { mutedTypes: ['x'], channels } })]);
    });
  });

  describe('broadcasts', () => {
    it('saveOffline reaches every active user as if copied into each inbox; read/delete only touch that view', async () => {
      const { store } = make();
      for (const u of ['a', 'b', 'c']) await store.ensureUser(u, T0);
      const B = await broadcast(store, T0 + 10, { type: 'maintenance', priority: 'HIGH', title: 'Down at 5' });
      expect(B.rec).toEqual({
        id: B.rec.id,
        type: 'maintenance',
        title: 'Down at 5',
        createdAt: T0 + 10,
        saveOffline: true,
        recipients: 3,
        deduplicated: 0,
        muted: 0,
      });
      for (const u of ['a', 'b', 'c']) {
        expect(await store.list(u, { first: 10 }, T0 + 20)).toEqual({
          items: [B.view(u)],
          hasNextPage: false,
          hasPreviousPage: false,
          totalCount: 1,
          unreadCount: 1,
        });
      }
      expect(await store.unreadCounts(['a', 'b', 'c'], T0 + 20)).toEqual([1, 1, 1]);

      expect(await store.markRead('a', [B.rec.id], T0 + 30)).toEqual([B.view('a', T0 + 30)]);
      expect(await store.delete('b', [B.rec.id], T0 + 31)).toBe(1);
      expect(await store.unreadCounts(['a', 'b', 'c'], T0 + 32)).toEqual([0, 0, 1]);
      expect(await store.get('a', [B.rec.id], T0 + 32)).toEqual([B.view('a', T0 + 30)]);
      expect(await store.get('b', [B.rec.id], T0 + 32)).toEqual([null]);
      expect(await store.get('c', [B.rec.id], T0 + 32)).toEqual([B.view('c')]);
      // a deleted broadcast does not come back
      await broadcast(store, T0 + 40);
      expect((await store.list('b', { first: 10 }, T0 + 41)).totalCount).toBe(1);
      expect(await store.markUnread('a', [B.rec.id], T0 + 42)).toEqual([B.view('a')]);
      expect(await store.markAllRead('c', T0 + 43)).toBe(2);
    });

    it('every per-user operation settles pending broadcasts first', async () => {
      const { store } = make();
      const users = ['u1', 'u2', 'u3', 'u4', 'u5', 'u6', 'u7'];
      for (const u of users) await store.ensureUser(u, T0);
      const B = await broadcast(store, T0 + 1);
      const now = T0 + 2;
      expect(await store.markAllRead('u1', now)).toBe(1);
      expect(await store.get('u2', [B.rec.id], now)).toEqual([B.view('u2')]);
      expect(await store.markRead('u3', [B.rec.id], now)).toEqual([B.view('u3', now)]);
      expect(await store.delete('u4', [B.rec.id], now)).toBe(1);
      expect(await store.unreadCounts(['u5'], now)).toEqual([1]);
      expect(await store.markUnread('u6', [B.rec.id], now)).toEqual([B.view('u6')]);
      const own = await sendOne(store, 'u7', now);
      expect(await listIds(store, 'u7', now)).toEqual([own.id, B.rec.id]);
    });

    it('a user created after the broadcast does not get it', async () => {
      const { store } = make();
      await store.ensureUser('a', T0);
      const B = await broadcast(store, T0 + 10);
      expect(B.rec.recipients).toBe(1);
      await store.ensureUser('late', T0 + 20);
      const own = await sendOne(store, 'bySend', T0 + 21);
      await store.upsertUser('byUpsert', { displayName: 'U' }, T0 + 22);
      await store.updatePreferences('byPrefs', { mutedTypes: ['x'] }, T0 + 23);
      expect(await listIds(store, 'late', T0 + 30)).toEqual([]);
      expect(await listIds(store, 'bySend', T0 + 30)).toEqual([own.id]);
      expect(await store.unreadCounts(['a', 'late', 'bySend', 'byUpsert', 'byPrefs'], T0 + 30)).toEqual([1, 0, 1, 0, 0]);
      // but they do get the next one
      const B2 = await broadcast(store, T0 + 40);
      expect(B2.rec.recipients).toBe(5);
      expect(await listIds(store, 'late', T0 + 50)).toEqual([B2.rec.id]);
      expect(await listIds(store, 'a', T0 + 50)).toEqual([B2.rec.id, B.rec.id]);
    });

    it('an inactive user gets nothing issued while inactive and keeps what it had before', async () => {
      const { store } = make();
      await store.ensureUser('a', T0);
      await store.ensureUser('b', T0);
      await store.upsertUser('c', { active: false }, T0 + 1); // created inactive
      const B1 = await broadcast(store, T0 + 10);
      expect(B1.rec.recipients).toBe(2);

      // b never looked at B1 before being deactivated: it still had it
      await store.upsertUser('b', { active: false }, T0 + 20);
      expect(await store.countActiveUsers()).toBe(1);
      const B2 = await broadcast(store, T0 + 30);
      expect(B2.rec).toMatchObject({ recipients: 1, muted: 0, deduplicated: 0 });
      expect(await listIds(store, 'b', T0 + 35)).toEqual([B1.rec.id]);

      await store.upsertUser('b', { active: true }, T0 + 40);
      await store.upsertUser('c', { active: true }, T0 + 41);
      expect(await store.countActiveUsers()).toBe(3);
      const B3 = await broadcast(store, T0 + 50);
      expect(B3.rec.recipients).toBe(3);

      expect(await listIds(store, 'a', T0 + 60)).toEqual([B3.rec.id, B2.rec.id, B1.rec.id]);
      expect(await listIds(store, 'b', T0 + 60)).toEqual([B3.rec.id, B1.rec.id]);
      expect(await listIds(store, 'c', T0 + 60)).toEqual([B3.rec.id]);
      expect(await store.unreadCounts(['a', 'b', 'c'], T0 + 60)).toEqual([3, 2, 1]);
    });

    it('muted: recipients = active - muted; muted = active users who muted the type; no retroactive delivery', async () => {
      const { store } = make();
      for (const u of ['a', 'b', 'c', 'd']) await store.ensureUser(u, T0);
      await store.upsertUser('e', { active: false }, T0);
      await store.updatePreferences('a', { mutedTypes: ['promo'] }, T0 + 1);
      await store.updatePreferences('b', { mutedTypes: ['promo', 'other'] }, T0 + 1);
      await store.updatePreferences('c', { mutedTypes: ['other'] }, T0 + 1);
      await store.updatePreferences('e', { mutedTypes: ['promo'] }, T0 + 1); // inactive: not counted

      const P1 = await broadcast(store, T0 + 10, { type: 'promo' });
      expect(P1.rec).toMatchObject({ recipients: 2, muted: 2, deduplicated: 0 });
      const N1 = await broadcast(store, T0 + 11, { type: 'news' });
      expect(N1.rec).toMatchObject({ recipients: 4, muted: 0, deduplicated: 0 });

      expect(await listIds(store, 'a', T0 + 12)).toEqual([N1.rec.id]);
      expect(await listIds(store, 'c', T0 + 12)).toEqual([N1.rec.id, P1.rec.id]);
      expect(await listIds(store, 'd', T0 + 12)).toEqual([N1.rec.id, P1.rec.id]);
      expect(await listIds(store, 'e', T0 + 12)).toEqual([]);

      // b unmutes without having looked since P1: P1 stays undelivered
      await store.updatePreferences('b', { mutedTypes: [] }, T0 + 20);
      expect(await listIds(store, 'b', T0 + 21)).toEqual([N1.rec.id]);
      // a deactivated: no longer counted as muting
      await store.upsertUser('a', { active: false }, T0 + 22);
      const P2 = await broadcast(store, T0 + 30, { type: 'promo' });
      expect(P2.rec).toMatchObject({ recipients: 3, muted: 0 });
      // e activated: counted as muting
      await store.upsertUser('e', { active: true }, T0 + 40);
      const P3 = await broadcast(store, T0 + 50, { type: 'promo' });
      expect(P3.rec).toMatchObject({ recipients: 3, muted: 1 });

      expect(await listIds(store, 'b', T0 + 60)).toEqual([P3.rec.id, P2.rec.id, N1.rec.id]);
      expect(await listIds(store, 'd', T0 + 60)).toEqual([P3.rec.id, P2.rec.id, N1.rec.id, P1.rec.id]);
      expect(await listIds(store, 'e', T0 + 60)).toEqual([]);
      expect(await listIds(store, 'a', T0 + 60)).toEqual([N1.rec.id]);

      // a changes its mutes while inactive, then comes back: counted with the new ones
      await store.updatePreferences('a', { mutedTypes: ['news'] }, T0 + 70);
      await store.upsertUser('a', { active: true }, T0 + 71);
      expect(await store.countActiveUsers()).toBe(5);
      const P4 = await broadcast(store, T0 + 80, { type: 'promo' });
      expect(P4.rec).toMatchObject({ recipients: 4, muted: 1 }); // e
      const N2 = await broadcast(store, T0 + 81, { type: 'news' });
      expect(N2.rec).toMatchObject({ recipients: 4, muted: 1 }); // a
      expect(await listIds(store, 'a', T0 + 90)).toEqual([P4.rec.id, N1.rec.id]);
      expect(await listIds(store, 'e', T0 + 90)).toEqual([N2.rec.id]);
    });

    it('dedup: a repeat inside the window stores nothing and reports every active user as deduplicated', async () => {
      const { store } = make();
      for (const u of ['a', 'b', 'c']) await store.ensureUser(u, T0);
      await store.upsertUser('off', { active: false }, T0);
      await store.updatePreferences('c', { mutedTypes: ['news'] }, T0);
      const W = SEC;

      const first = await broadcast(store, T0 + 10, { dedupKey: 'k', window: W });
      expect(first.rec).toMatchObject({ recipients: 2, muted: 1, deduplicated: 0 });
      const dup = await broadcast(store, T0 + 10 + W - 1, { dedupKey: 'k', window: W });
      expect(dup.rec).toMatchObject({ recipients: 0, muted: 0, deduplicated: 3, saveOffline: true });
      expect(seqOf(dup.rec.id)).toBeGreaterThan(seqOf(first.rec.id));
      expect(await listIds(store, 'a', T0 + 10 + W - 1)).toEqual([first.rec.id]);
      expect(await listIds(store, 'b', T0 + 10 + W - 1)).toEqual([first.rec.id]);
      expect(await listIds(store, 'c', T0 + 10 + W - 1)).toEqual([]);

      // another key is no duplicate; own sends have their own dedup keys
      const other = await broadcast(store, T0 + 10 + W - 1, { dedupKey: 'k2', window: W });
      expect(other.rec.recipients).toBe(2);
      expect(statuses(await store.send(['a'], newItem(T0 + 10 + W - 1, { dedupKey: 'k', window: W }), T0 + 10 + W - 1))).toEqual([
        'stored',
      ]);

      const again = await broadcast(store, T0 + 10 + W, { dedupKey: 'k', window: W });
      expect(again.rec).toMatchObject({ recipients: 2, muted: 1, deduplicated: 0 });
      const b = await listIds(store, 'b', T0 + 10 + W);
      expect(b).toEqual([again.rec.id, other.rec.id, first.rec.id]);
      expect(await store.unreadCounts(['a', 'b', 'c', 'off'], T0 + 10 + W)).toEqual([4, 3, 0, 0]);
    });

    it('saveOffline:false stores nothing anywhere (and still opens its dedup window)', async () => {
      const { store } = make();
      for (const u of ['a', 'b']) await store.ensureUser(u, T0);
      await store.updatePreferences('b', { mutedTypes: ['news'] }, T0);
      const live = await broadcast(store, T0 + 10, { saveOffline: false, dedupKey: 'live', window: MIN });
      expect(live.rec).toMatchObject({ saveOffline: false, recipients: 0, deduplicated: 0, muted: 1, createdAt: T0 + 10 });
      expect(await store.unreadCounts(['a', 'b'], T0 + 11)).toEqual([0, 0]);
      expect(await listIds(store, 'a', T0 + 11)).toEqual([]);
      expect(await store.get('a', [live.rec.id], T0 + 11)).toEqual([null]);

      const dup = await broadcast(store, T0 + 12, { dedupKey: 'live', window: MIN });
      expect(dup.rec).toMatchObject({ recipients: 0, muted: 0, deduplicated: 2 });
      expect(await listIds(store, 'a', T0 + 13)).toEqual([]);

      const kept = await broadcast(store, T0 + 14, { type: 'other' });
      expect(kept.rec.recipients).toBe(2);
      expect(await listIds(store, 'a', T0 + 15)).toEqual([kept.rec.id]);
      expect(await listIds(store, 'b', T0 + 15)).toEqual([kept.rec.id]);
    });

    it('the cap counts own items and broadcasts together', async () => {
      const { store } = make({ cap: 5 });
      const own: string[] = [];
      for (let i = 0; i < 4; i++) own.push((await sendOne(store, 'a', T0 + i)).id);
      const bs: string[] = [];
      for (let i = 0; i < 3; i++) bs.push((await broadcast(store, T0 + 10 + i)).rec.id);
      const page = await store.list('a', { first: 10 }, T0 + 20);
      expect(page.items.map((n) => n.id)).toEqual([bs[2], bs[1], bs[0], own[3], own[2]]);
      expect(page.items.map((n) => n.broadcastId)).toEqual([bs[2], bs[1], bs[0], null, null]);
      expect([page.totalCount, page.unreadCount]).toEqual([5, 5]);

      // interleaved, for a user created after those broadcasts
      const seqd: string[] = [];
      for (let i = 0; i < 7; i++) {
        const now = T0 + 30 + i;
        seqd.push(i % 2 === 0 ? (await sendOne(store, 'b', now)).id : (await broadcast(store, now)).rec.id);
      }
      expect(await listIds(store, 'b', T0 + 40)).toEqual([seqd[6], seqd[5], seqd[4], seqd[3], seqd[2]]);
      // a got the three later broadcasts on top
      expect(await listIds(store, 'a', T0 + 40)).toEqual([seqd[5], seqd[3], seqd[1], bs[2], bs[1]]);
    });

    it('a broadcast committed while the inbox was full pushes the oldest out, even when the user looks later', async () => {
      const { store } = make({ cap: 3 });
      const own = async (u: string, ttls: number[] = [HOUR, HOUR, HOUR]) => {
        const out: string[] = [];
        for (const [i, ttl] of ttls.entries()) out.push((await sendOne(store, u, T0 + i, { ttl })).id);
        return out;
      };
      const a = await own('a');
      const b = await own('b');
      const c = await own('c', [HOUR, 5, HOUR]); // c's middle one has expired (T0+6) before the broadcast
      const d = await own('d', [HOUR, 15, HOUR]); // d's middle one expires (T0+16) after it, before d looks
      const B = await broadcast(store, T0 + 10);
      expect(B.rec.recipients).toBe(4);

      expect(await listIds(store, 'a', T0 + 20)).toEqual([B.rec.id, a[2], a[1]]);
      // deleting first still settles first: b's oldest went at commit time
      expect(await store.delete('b', [b[2]!], T0 + 20)).toBe(1);
      expect(await listIds(store, 'b', T0 + 20)).toEqual([B.rec.id, b[1]]);
      // at commit time c had 2 live items: nothing pushed out
      expect(await listIds(store, 'c', T0 + 20)).toEqual([B.rec.id, c[2], c[0]]);
      // at commit time d's inbox was full of live items: the oldest went, then d[1] expired
      expect(await store.unreadCounts(['d'], T0 + 20)).toEqual([2]);
      expect(await listIds(store, 'd', T0 + 20)).toEqual([B.rec.id, d[2]]);
    });

    it('a broadcast that has expired by the time the user looks still pushed out what it displaced', async () => {
      const { store } = make({ cap: 3 });
      const d: string[] = [];
      for (let i = 0; i < 3; i++) d.push((await sendOne(store, 'd', T0 + i)).id);
      const e = await sendOne(store, 'e', T0 + 3);
      const S = await broadcast(store, T0 + 10, { ttl: 10 }); // expires at T0+20
      expect(S.rec.recipients).toBe(2);
      expect(await store.unreadCounts(['d', 'e'], T0 + 100)).toEqual([2, 1]);
      expect(await listIds(store, 'd', T0 + 100)).toEqual([d[2], d[1]]);
      expect(await listIds(store, 'e', T0 + 100)).toEqual([e.id]);
    });

    it('broadcasts expire by their own expiresAt', async () => {
      const { store } = make();
      const O = await sendOne(store, 'a', T0, { ttl: 5_000 });
      await store.ensureUser('b', T0);
      const B = await broadcast(store, T0 + 10, { ttl: 1_000 }); // expires at T0+1010
      expect(B.content.expiresAt).toBe(T0 + 1010);
      expect(await listIds(store, 'a', T0 + 1009)).toEqual([B.rec.id, O.id]);
      expect(await store.markRead('a', [B.rec.id], T0 + 1009)).toEqual([B.view('a', T0 + 1009)]);
      expect(await store.unreadCounts(['a', 'b'], T0 + 1009)).toEqual([1, 1]);

      expect(await store.unreadCounts(['a', 'b'], T0 + 1010)).toEqual([1, 0]);
      expect(await listIds(store, 'a', T0 + 1010)).toEqual([O.id]);
      expect(await listIds(store, 'b', T0 + 1010)).toEqual([]);
      expect(await store.get('a', [B.rec.id], T0 + 1010)).toEqual([null]);
      expect(await store.markUnread('a', [B.rec.id], T0 + 1010)).toEqual([]);
      expect(await store.delete('a', [B.rec.id], T0 + 1010)).toBe(0);
    });
  });

  describe('pruneExpired', () => {
    it('once everything has expired, leaves nothing behind but users, the sequence, the epoch and the active set', async () => {
      const { store, keys } = make({ cap: 3 });
      for (const u of ['a', 'b', 'c', 'd']) await store.ensureUser(u, T0);
      const W = 5 * MIN;
      expect(statuses(await store.send(['a', 'b'], newItem(T0, { dedupKey: 'k1', window: W, ttl: 10 * MIN }), T0))).toEqual([
        'stored',
        'stored',
      ]);
      expect(statuses(await store.send(['a'], newItem(T0 + 1, { dedupKey: 'k1', window: W }), T0 + 1))).toEqual(['deduplicated']);
      const cOwn = await sendOne(store, 'c', T0 + 2, { ttl: 2 * MIN });
      const B1 = await broadcast(store, T0 + 10, { dedupKey: 'bk', window: W, ttl: 20 * MIN });
      const dup = await broadcast(store, T0 + 11, { dedupKey: 'bk', window: W });
      expect(dup.rec.deduplicated).toBe(4);
      await broadcast(store, T0 + 12, { saveOffline: false });
      for (let i = 0; i < 3; i++) await sendOne(store, 'a', T0 + 13 + i, { ttl: (i + 1) * MIN, dedupKey: `a${i}`, window: 2 * W });
      const bOwn = await store.list('b', { first: 10 }, T0 + 20);
      expect(bOwn.totalCount).toBe(2);
      expect(await store.markRead('b', bOwn.items.map((n) => n.id), T0 + 20)).toHaveLength(2);
      await store.upsertUser('d', { active: false }, T0 + 30); // settles B1 into d, then deactivates
      await store.updatePreferences('b', { channels: [{ type: 'news', channels: ['IN_APP'] }] }, T0 + 31);
      expect((await store.list('a', { first: 10 }, T0 + 40)).totalCount).toBe(3);
      // c has not looked since B1: it is still pending for c
      expect(await store.get('c', [cOwn.id], T0 + 40)).toHaveLength(1);
      await broadcast(store, T0 + 50, { ttl: 30 * MIN }); // never looked at by anybody

      const PRUNE_AT = T0 + HOUR; // past every expiry and every dedup window
      await store.pruneExpired(PRUNE_AT, 2);

      if (keys) {
        expect(await keys()).toEqual(['{g}:active', '{g}:epoch', '{g}:seq', '{u:a}:user', '{u:b}:user', '{u:c}:user', '{u:d}:user']);
      }
      const users = ['a', 'b', 'c', 'd'];
      expect(await store.unreadCounts(users, PRUNE_AT)).toEqual([0, 0, 0, 0]);
      for (const u of users) {
        expect(await store.list(u, { first: 10 }, PRUNE_AT)).toEqual({
          items: [],
          hasNextPage: false,
          hasPreviousPage: false,
          totalCount: 0,
          unreadCount: 0,
        });
      }
      expect(await store.countActiveUsers()).toBe(3);
      expect((await store.getUsers(['b']))[0]?.preferences.channels).toEqual([{ type: 'news', channels: ['IN_APP'] }]);
      if (keys) expect(await keys()).toEqual(['{g}:active', '{g}:epoch', '{g}:seq', '{u:a}:user', '{u:b}:user', '{u:c}:user', '{u:d}:user']);

      // the sequence goes on, dedup windows are over
      const after = await store.send(['a', 'b'], newItem(PRUNE_AT, { dedupKey: 'k1', window: W }), PRUNE_AT);
      const [s1, s2] = after.map((o) => storedOf(o).id).map(seqOf);
      expect(s1).toBeGreaterThan(seqOf(dup.rec.id));
      expect(s2).toBeGreaterThan(s1!);
      const B2 = await broadcast(store, PRUNE_AT + 1, { dedupKey: 'bk', window: W });
      expect(B2.rec).toMatchObject({ recipients: 3, deduplicated: 0 });
      expect(await listIds(store, 'c', PRUNE_AT + 2)).toEqual([B2.rec.id]);
      expect(B1.rec.recipients).toBe(4);
    });

    it('keeps everything still live: items, read state, dedup windows, broadcasts not yet settled', async () => {
      const { store } = make();
      for (const u of ['a', 'b', 'c']) await store.ensureUser(u, T0);
      const A1 = await sendOne(store, 'a', T0, { ttl: MIN, dedupKey: 'k', window: MIN });
      const A2 = await sendOne(store, 'a', T0 + 1, { ttl: 10 * SEC });
      const B = await broadcast(store, T0 + 2, { ttl: MIN, dedupKey: 'bk', window: MIN });
      await store.markRead('a', [A1.id], T0 + 3);
      expect(await listIds(store, 'b', T0 + 4)).toEqual([B.rec.id]); // b has settled, c has not

      await store.pruneExpired(T0 + 30 * SEC);
      const now = T0 + 30 * SEC + 1;
      expect(await store.list('a', { first: 10 }, now)).toMatchObject({ totalCount: 2, unreadCount: 1 });
      expect(await store.get('a', [B.rec.id, A1.id, A2.id], now)).toEqual([B.view('a'), { ...A1, readAt: T0 + 3 }, null]);
      expect(await store.get('c', [B.rec.id], now)).toEqual([B.view('c')]);
      expect(await store.unreadCounts(['a', 'b', 'c'], now)).toEqual([1, 1, 1]);
      expect(statuses(await store.send(['a'], newItem(now, { dedupKey: 'k', window: MIN }), now))).toEqual(['deduplicated']);
      expect((await broadcast(store, now, { dedupKey: 'bk', window: MIN })).rec).toMatchObject({ recipients: 0, deduplicated: 3 });
    });

    it('keeps a broadcast log entry while it still decides what a user who has not looked yet lost to the cap', async () => {
      const { store } = make({ cap: 1 });
      const O = await sendOne(store, 'u', T0, { ttl: HOUR });
      await broadcast(store, T0 + 10, { ttl: MIN }); // pushes O out of u's full inbox at commit time
      await store.pruneExpired(T0 + 2 * MIN); // the broadcast's body is gone, O would still be live
      expect(await store.get('u', [O.id], T0 + 3 * MIN)).toEqual([null]);
      expect(await listIds(store, 'u', T0 + 3 * MIN)).toEqual([]);
      expect(await store.unreadCounts(['u'], T0 + 3 * MIN)).toEqual([0]);
    });

    it('drops expired items of a user whose dedup mark outlives them', async () => {
      const { store, keys } = make();
      await store.updatePreferences('a', { mutedTypes: ['promo'] }, T0);
      // muted, but the dedup window (to T0+10min) is open: a is due at T0+10min
      expect(statuses(await store.send(['a'], newItem(T0, { type: 'promo', dedupKey: 'p', window: 10 * MIN }), T0))).toEqual(['muted']);
      await broadcast(store, T0 + 1, { ttl: SEC }); // expires at T0+1001
      // a duplicate: settles the broadcast into a's inbox, stores nothing
      expect(statuses(await store.send(['a'], newItem(T0 + 2, { type: 'promo', dedupKey: 'p', window: 10 * MIN }), T0 + 2))).toEqual([
        'deduplicated',
      ]);
      await store.pruneExpired(T0 + 2 * SEC);
      if (keys) {
        expect(await keys()).toEqual(['{g}:active', '{g}:due', '{g}:epoch', '{g}:mutecount', '{g}:seq', '{u:a}:dedup', '{u:a}:user']);
      }
      expect(await store.unreadCounts(['a'], T0 + 2 * SEC)).toEqual([0]);
      expect(await listIds(store, 'a', T0 + 2 * SEC)).toEqual([]);
      // still deduplicating until the window ends
      expect(statuses(await store.send(['a'], newItem(T0 + 10 * MIN - 1, { type: 'promo', dedupKey: 'p', window: MIN }), T0 + 10 * MIN - 1))).toEqual(['deduplicated']);
      await store.updatePreferences('a', { mutedTypes: [] }, T0 + 10 * MIN);
      expect(statuses(await store.send(['a'], newItem(T0 + 10 * MIN, { type: 'promo', dedupKey: 'p', window: MIN }), T0 + 10 * MIN))).toEqual(['stored']);
    });
  });

  describe('inbox snapshot (resume watermark)', () => {
    const snap = async (store: Store, userId: string, after: string | null, now: number) => {
      const { lastId, ...rest } = await store.inboxSnapshot(userId, after, 'tok', now);
      expect(lastId).toMatch(/^[0-9a-z]{11}$/);
      return rest;
    };
    const titles = (ns: Notification[]) => ns.map((n) => n.title);

    it('holds what is newer than after, oldest first, with the exact count; complete until something newer is removed', async () => {
      const { store } = make({ cap: 3 });
      const A = await sendOne(store, 'u', T0, { title: 'a' });
      const B = await sendOne(store, 'u', T0, { title: 'b' });
      const C = await sendOne(store, 'u', T0, { title: 'c' });
      await store.markRead('u', [B.id], T0 + 1);
      expect(await snap(store, 'u', null, T0 + 2)).toEqual({ unreadCount: 2, items: [], complete: null });
      expect(await snap(store, 'u', A.id, T0 + 2)).toEqual({ unreadCount: 2, items: [{ ...B, readAt: T0 + 1 }, C], complete: true });
      expect(await snap(store, 'u', C.id, T0 + 2)).toEqual({ unreadCount: 2, items: [], complete: true });
      // removing `after` itself (or anything older) loses nothing newer than it
      expect(await store.delete('u', [A.id], T0 + 3)).toBe(1);
      expect(await snap(store, 'u', A.id, T0 + 3)).toMatchObject({ items: [{ id: B.id }, { id: C.id }], complete: true });
      expect(await store.delete('u', [C.id], T0 + 4)).toBe(1);
      expect(await snap(store, 'u', A.id, T0 + 4)).toMatchObject({ unreadCount: 0, items: [{ id: B.id }], complete: false });
      expect(await snap(store, 'u', B.id, T0 + 4)).toMatchObject({ items: [], complete: false });
      expect(await snap(store, 'u', C.id, T0 + 4)).toMatchObject({ items: [], complete: true });
      // a user with nothing: nothing lost
      expect(await snap(store, 'nobody', A.id, T0 + 4)).toEqual({ unreadCount: 0, items: [], complete: true });
    });

    it('a malformed after, or one beyond every id issued, is never complete', async () => {
      const { store } = make();
      const A = await sendOne(store, 'u', T0);
      for (const after of ['x', '', 'ABCDEFGHIJK', `${A.id}0`, encodeSeq(seqOf(A.id) + 1), encodeSeq(seqOf(A.id) + 10 ** 9)]) {
        expect(await snap(store, 'u', after, T0)).toEqual({ unreadCount: 1, items: [], complete: false });
      }
      // at the data set's epoch: nothing before it to miss; before the epoch: it may have been lost
      expect((await snap(store, 'u', encodeSeq(await store.epoch()), T0)).complete).toBe(true);
      for (const old of [encodeSeq(0), encodeSeq(10 ** 9), encodeSeq((await store.epoch()) - 1)]) {
        expect(await snap(store, 'u', old, T0)).toMatchObject({ items: [A], complete: false });
      }
    });

    it('turns false on a cap push-out, an expiry, a broadcast pushing out; never on live-only or muted broadcasts', async () => {
      const { store } = make({ cap: 2 });
      const X = await sendOne(store, 'u', T0, { title: 'x' });
      await broadcast(store, T0 + 1, { saveOffline: false });
      await store.updatePreferences('u', { mutedTypes: ['promo'] }, T0 + 2);
      await broadcast(store, T0 + 3, { type: 'promo' });
      expect(await snap(store, 'u', X.id, T0 + 4)).toEqual({ unreadCount: 1, items: [], complete: true });
      const Y = await sendOne(store, 'u', T0 + 5, { title: 'y', ttl: SEC });
      expect(await snap(store, 'u', X.id, T0 + 6)).toMatchObject({ items: [Y], complete: true });
      expect(await snap(store, 'u', X.id, T0 + 5 + SEC)).toEqual({ unreadCount: 1, items: [], complete: false });

      const P = await sendOne(store, 'v', T0, { title: 'p' });
      await sendOne(store, 'v', T0, { title: 'q' });
      await sendOne(store, 'v', T0, { title: 'r' }); // pushes p (= after) out: nothing newer lost
      expect(await snap(store, 'v', P.id, T0)).toMatchObject({ unreadCount: 2, complete: true });
      await sendOne(store, 'v', T0, { title: 's' }); // pushes q out
      expect(titles((await snap(store, 'v', P.id, T0)).items)).toEqual(['r', 's']);
      expect((await snap(store, 'v', P.id, T0)).complete).toBe(false);

      const M = await sendOne(store, 'w', T0 + 10, { title: 'm' });
      await sendOne(store, 'w', T0 + 10, { title: 'n' });
      const B1 = await broadcast(store, T0 + 11, { title: 'b1' }); // settled later: pushes m out
      expect(await snap(store, 'w', M.id, T0 + 12)).toMatchObject({ complete: true });
      await broadcast(store, T0 + 13, { title: 'b2' }); // pushes n out
      const s = await snap(store, 'w', M.id, T0 + 14);
      expect([titles(s.items), s.complete]).toEqual([['b1', 'b2'], false]);
      expect(s.items[0]).toEqual(B1.view('w'));
    });
  });

  describe('published changes', () => {
    it('one unread event per commit that changes the count, the read state or removes items, with the ids; the sync event last', async () => {
      const { store, events } = await record({ cap: 2 });
      const A = await sendOne(store, 'u', T0, { ttl: MIN });
      const B = await sendOne(store, 'u', T0, { ttl: HOUR });
      await store.markRead('u', [A.id, A.id, encodeSeq(10 ** 6)], T0 + 1);
      await store.markRead('u', [A.id], T0 + 2); // already read: nothing to say
      await store.markUnread('u', [A.id, B.id], T0 + 3); // only A changes
      await store.markAllRead('u', T0 + 4);
      const C = await sendOne(store, 'u', T0 + 5, { ttl: 2 * MIN }); // pushes A out
      await store.delete('u', [B.id], T0 + 6);
      await store.list('u', { first: 10 }, T0 + 7); // nothing changes: nothing published
      await store.markRead('u', [C.id], T0 + 8);
      await store.inboxSnapshot('u', null, 'tok1', T0 + 5 + 2 * MIN); // C expired: noticed, then the sync
      const evs = await events('u');
      const notification = (n: Notification) => ({ kind: 'notification', id: n.id, v: expect.any(String) });
      expect(evs).toEqual([
        notification(A),
        { kind: 'unread', count: 1 },
        notification(B),
        { kind: 'unread', count: 2 },
        { kind: 'unread', count: 1, read: [A.id] },
        { kind: 'unread', count: 2, unread: [A.id] },
        { kind: 'unread', count: 0, read: [A.id, B.id] },
        notification(C),
        { kind: 'unread', count: 1, removed: [A.id] },
        { kind: 'unread', count: 1, removed: [B.id] },
        { kind: 'unread', count: 0, read: [C.id] },
        { kind: 'unread', count: 0, removed: [C.id] },
        { kind: 'sync', token: 'tok1' },
      ]);
    });
  });

  describe('sweepExpired (expiry index)', () => {
    it('settles only the users whose next expiry has passed, earliest first, a limit at a time, and publishes what expired', async () => {
      const { store, events } = await record();
      const A = await sendOne(store, 'a', T0, { ttl: SEC });
      await sendOne(store, 'a', T0, { ttl: HOUR });
      const B = await sendOne(store, 'b', T0, { ttl: 2 * SEC });
      await sendOne(store, 'c', T0, { ttl: HOUR });
      await store.ensureUser('d', T0);
      expect(await store.sweepExpired(T0 + SEC - 1, 10)).toBe(0);
      expect(await store.sweepExpired(T0 + 2 * SEC, 1)).toBe(1); // a: due first
      expect((await events('a')).at(-1)).toEqual({ kind: 'unread', count: 1, removed: [A.id] });
      expect((await events('b')).at(-1)).toEqual({ kind: 'unread', count: 1 }); // not yet visited
      expect(await store.sweepExpired(T0 + 2 * SEC, 10)).toBe(1); // b
      expect((await events('b')).at(-1)).toEqual({ kind: 'unread', count: 0, removed: [B.id] });
      expect(await store.sweepExpired(T0 + 2 * SEC, 10)).toBe(0); // settled: due again only at their next expiry
      expect(await store.unreadCounts(['a', 'b', 'c'], T0 + 2 * SEC)).toEqual([1, 0, 1]);
      expect(await store.sweepExpired(T0 + HOUR, 10)).toBe(2); // a and c
      expect(await store.sweepExpired(T0 + 2 * HOUR, 10)).toBe(0);
    });

    it('a user whose inbox changed is due at its new next expiry; a dedup mark makes it due too', async () => {
      const { store } = make();
      const A = await sendOne(store, 'a', T0, { ttl: SEC });
      await store.delete('a', [A.id], T0 + 1); // nothing left to expire
      expect(await store.sweepExpired(T0 + SEC, 10)).toBe(0);
      await sendOne(store, 'a', T0 + 2, { ttl: HOUR, dedupKey: 'k', window: MIN });
      expect(await store.sweepExpired(T0 + 1 + MIN, 10)).toBe(0);
      expect(await store.sweepExpired(T0 + 2 + MIN, 10)).toBe(1); // the dedup mark's end
      expect(await store.sweepExpired(T0 + 3 + MIN, 10)).toBe(0);
      expect(await store.sweepExpired(T0 + 2 + HOUR, 10)).toBe(1);
    });

    it('sweeps running at the same time settle each user once', async () => {
      const { store } = make();
      for (let i = 0; i < 20; i++) await sendOne(store, `u${i}`, T0, { ttl: SEC });
      const counts = await Promise.all([store.sweepExpired(T0 + SEC, 7), store.sweepExpired(T0 + SEC, 7), store.sweepExpired(T0 + SEC, 7)]);
      const more = await store.sweepExpired(T0 + SEC, 100);
      expect(counts.reduce((x, y) => x + y, 0) + more).toBe(20);
      expect(await store.unreadCounts([...Array(20).keys()].map((i) => `u${i}`), T0 + SEC)).toEqual(Array(20).fill(0));
    });
  });

  describe('policies and templates', () => {
    it('round-trip, the last write per type/name winning', async () => {
      const { store } = make();
      expect(await store.getPolicies()).toEqual([]);
      expect(await store.getTemplates()).toEqual([]);
      const news: NotificationTypePolicy = { type: 'news', ttlSeconds: 3600, defaultPriority: 'NORMAL', dedupWindowSeconds: 0, description: null };
      const alert: NotificationTypePolicy = { type: 'alert', ttlSeconds: 60, defaultPriority: 'URGENT', dedupWindowSeconds: 30, description: 'Alerts' };
      await store.setPolicy(news);
      await store.setPolicy(alert);
      const news2 = { ...news, ttlSeconds: 7200, description: 'News' };
      await store.setPolicy(news2);
      const byType = (ps: NotificationTypePolicy[]) => [...ps].sort((x, y) => x.type.localeCompare(y.type));
      expect(byType(await store.getPolicies())).toEqual([alert, news2]);

      const welcome: Template = { name: 'welcome', type: 'news', title: 'Hi {{name}}', body: 'Welcome, {{name}}!' };
      const down: Template = { name: 'down', type: 'alert', title: 'Down', body: '{{service}} is down' };
      await store.upsertTemplate(welcome);
      await store.upsertTemplate(down);
      const welcome2 = { ...welcome, title: 'Hello {{name}}' };
      await store.upsertTemplate(welcome2);
      const byName = (ts: Template[]) => [...ts].sort((x, y) => x.name.localeCompare(y.name));
      expect(byName(await store.getTemplates())).toEqual([down, welcome2]);
    });
  });
});

// ---------------------------------------------------------------------------------------------
// Daily stats (the dashboard's counters): kept by send and broadcast as they commit
// ---------------------------------------------------------------------------------------------

describe.each(setups)('$name store: daily stats', ({ name, make }) => {
  const day = (t: number) => new Date(t).toISOString().slice(0, 10);

  it('counts stored and deduplicated sends per UTC day, stored ones per type; muted ones not at all', async () => {
    const { store } = make();
    // 01:00 UTC today: the test spans two hours, which must stay inside one UTC day whenever it runs.
    const T0 = Date.parse(`${day(Date.now())}T01:00:00Z`);
    expect(await store.dailyStats(T0)).toEqual({ day: day(T0), sent: 0, deduplicated: 0, byType: {} });
    await store.updatePreferences('c', { mutedTypes: ['promo'] }, T0);
    expect(statuses(await store.send(['a', 'b', 'c'], newItem(T0 + 1, { type: 'promo' }), T0 + 1))).toEqual(['stored', 'stored', 'muted']);
    const news = (t: number) => store.send(['a', 'b'], newItem(t, { type: 'news', dedupKey: 'k', window: HOUR }), t);
    expect(statuses(await news(T0 + 2))).toEqual(['stored', 'stored']);
    expect(statuses(await news(T0 + 3))).toEqual(['deduplicated', 'deduplicated']);
    expect(statuses(await news(T0 + 4))).toEqual(['deduplicated', 'deduplicated']);
    expect(await store.dailyStats(T0 + 5)).toEqual({ day: day(T0), sent: 4, deduplicated: 4, byType: { promo: 2, news: 2 } });
    // reading, deleting or expiring afterwards changes nothing: these count what was sent
    const [n] = (await store.list('a', { first: 1 }, T0 + 6)).items;
    await store.delete('a', [n!.id], T0 + 6);
    await store.pruneExpired(T0 + 2 * HOUR);
    expect(await store.dailyStats(T0 + 2 * HOUR)).toMatchObject({ sent: 4, deduplicated: 4 });
  });

  it('counts a broadcast as its recipients, a deduplicated one as its audience, a live-only one not at all', async () => {
    const { store } = make();
    for (const u of ['a', 'b', 'c', 'd']) await store.ensureUser(u, T0);
    await store.updatePreferences('c', { mutedTypes: ['maintenance'] }, T0);
    await store.upsertUser('d', { active: false }, T0);
    const first = await broadcast(store, T0 + 1, { type: 'maintenance', dedupKey: 'm', window: HOUR });
    expect(first.rec).toMatchObject({ recipients: 2, muted: 1, deduplicated: 0 });
    const again = await broadcast(store, T0 + 2, { type: 'maintenance', dedupKey: 'm', window: HOUR });
    expect(again.rec).toMatchObject({ recipients: 0, deduplicated: 3 });
    await broadcast(store, T0 + 3, { type: 'live', saveOffline: false });
    await sendOne(store, 'a', T0 + 4, { type: 'maintenance' });
    expect(await store.dailyStats(T0 + 5)).toEqual({ day: day(T0), sent: 3, deduplicated: 3, byType: { maintenance: 3 } });
  });

  it('starts a new day at 00:00 UTC; each day keeps its own counts', async () => {
    const { store } = make();
    const midnight = Date.UTC(new Date(T0).getUTCFullYear(), new Date(T0).getUTCMonth(), new Date(T0).getUTCDate() + 2);
    await sendOne(store, 'a', midnight - 1, { type: 'late' });
    await sendOne(store, 'a', midnight, { type: 'early' });
    await sendOne(store, 'b', midnight + 23 * HOUR, { type: 'early' });
    expect(await store.dailyStats(midnight - HOUR)).toEqual({ day: day(midnight - 1), sent: 1, deduplicated: 0, byType: { late: 1 } });
    expect(await store.dailyStats(midnight + 23 * HOUR)).toEqual({ day: day(midnight), sent: 2, deduplicated: 0, byType: { early: 2 } });
    expect(day(midnight)).not.toBe(day(midnight - 1));
  });

  it('reports the used memory of Redis, null in memory', async () => {
    const { store } = make();
    const used = await store.usedMemoryBytes();
    if (name === 'memory') expect(used).toBeNull();
    else expect(used).toBeGreaterThan(100_000);
  });

  // Redis-only: registered for that backend alone.
  if (name === 'redis') it('keeps a day in one hash that expires after a few days (STATS_TTL_MS)', async () => {
    const prefix = uniquePrefix();
    prefixesToDelete.push(prefix);
    const store = createRedisStore({ redis, cap: 10, prefix, channels: channelNames(prefix) });
    await sendOne(store, 'a', T0, { type: 'news' });
    await store.broadcast(newBroadcast(T0 + 1, { type: 'news' }), T0 + 1);
    const key = statsKey(prefix, day(T0));
    expect(await redis.hgetall(key)).toEqual({ sent: '2', 'type:news': '2' });
    const ttl = await redis.pttl(key);
    expect(ttl).toBeGreaterThan(STATS_TTL_MS - MIN);
    expect(ttl).toBeLessThanOrEqual(STATS_TTL_MS);
  });
});

// ---------------------------------------------------------------------------------------------
// Scheduled sends (sendAt) and job runs (src/scheduler)
// ---------------------------------------------------------------------------------------------

type ScheduledSend = import('../src/store/store.js').ScheduledSend;

describe.each(setups)('$name store: scheduled sends and job runs', ({ name, make }) => {
  const LEASE = 30 * SEC;
  const later = (o: Partial<ScheduledSend> = {}): ScheduledSend => ({
    userIds: ['a', 'b'],
    content: { type: 'news', title: 'later', body: 'scheduled body', data: { n: 1 }, priority: 'HIGH' },
    ttlMs: HOUR,
    dedupWindowMs: 0,
    sendAt: T0 + MIN,
    ...o,
  });

  it('keeps a send until it is due, then delivers it as if sent then (createdAt, TTL from delivery)', async () => {
    const { store } = make();
    const id = await store.schedule(later(), T0);
    expect(decodeSeq(id)).not.toBeNull();
    expect(await store.nextScheduledAt()).toBe(T0 + MIN);
    expect(await store.claimScheduled(T0 + MIN - 1, 10, LEASE)).toEqual([]);
    const at = T0 + MIN + 5;
    const claimed = await store.claimScheduled(at, 10, LEASE);
    expect(claimed).toEqual([{ ...later(), id }]);
    const outs = await deliverScheduled(store, claimed[0]!, at);
    expect(statuses(outs)).toEqual(['stored', 'stored']);
    const n = storedOf(outs[0]);
    expect(n).toMatchObject({ userId: 'a', type: 'news', title: 'later', body: 'scheduled body', data: { n: 1 }, priority: 'HIGH', createdAt: at, expiresAt: at + HOUR, readAt: null, broadcastId: null });
    expect(seqOf(n.id)).toBeGreaterThan(seqOf(id));
    await store.completeScheduled(id);
    expect(await store.nextScheduledAt()).toBeNull();
    expect(await store.claimScheduled(at + HOUR, 10, LEASE)).toEqual([]);
    expect(await listIds(store, 'b', at)).toEqual([storedOf(outs[1]).id]);
    // completing twice is harmless
    await store.completeScheduled(id);
  });

  it('takes scheduled ids from the item sequence', async () => {
    const { store } = make();
    const before = await sendOne(store, 'a', T0);
    const id = await store.schedule(later(), T0 + 1);
    const after = await sendOne(store, 'a', T0 + 2);
    expect(seqOf(before.id)).toBeLessThan(seqOf(id));
    expect(seqOf(id)).toBeLessThan(seqOf(after.id));
  });

  it('leases what it claims: not claimed again until the lease runs out (a deliverer died), then again', async () => {
    const { store } = make();
    const id = await store.schedule(later(), T0);
    const at = T0 + MIN;
    expect((await store.claimScheduled(at, 10, LEASE)).map((s) => s.id)).toEqual([id]);
    expect(await store.claimScheduled(at + LEASE - 1, 10, LEASE)).toEqual([]);
    expect(await store.nextScheduledAt()).toBe(at + LEASE);
    expect((await store.claimScheduled(at + LEASE, 10, LEASE)).map((s) => s.id)).toEqual([id]);
  });

  it('claims the earliest due first, at most `limit` at a time', async () => {
    const { store } = make();
    const c = await store.schedule(later({ sendAt: T0 + 3 * SEC }), T0);
    const a = await store.schedule(later({ sendAt: T0 + 1 * SEC }), T0);
    const b = await store.schedule(later({ sendAt: T0 + 2 * SEC }), T0);
    expect((await store.claimScheduled(T0 + MIN, 2, LEASE)).map((s) => s.id)).toEqual([a, b]);
    expect((await store.claimScheduled(T0 + MIN, 2, LEASE)).map((s) => s.id)).toEqual([c]);
  });

  it('delivers a send once per user however often it is delivered again (crash between delivery and complete)', async () => {
    const { store } = make();
    await store.schedule(later({ userIds: ['a', 'b', 'c'] }), T0);
    const at = T0 + MIN;
    const [s] = await store.claimScheduled(at, 10, LEASE);
    // first delivery got through to everyone, then the deliverer died before completing
    expect(statuses(await deliverScheduled(store, s!, at))).toEqual(['stored', 'stored', 'stored']);
    const [again] = await store.claimScheduled(at + LEASE, 10, LEASE);
    expect(again!.id).toBe(s!.id);
    expect(statuses(await deliverScheduled(store, again!, at + LEASE))).toEqual(['deduplicated', 'deduplicated', 'deduplicated']);
    expect(statuses(await deliverScheduled(store, again!, at + LEASE + 1))).toEqual(['deduplicated', 'deduplicated', 'deduplicated']);
    for (const u of ['a', 'b', 'c']) {
      expect(await listIds(store, u, at + LEASE + 2)).toHaveLength(1);
      expect(await store.unreadCounts([u], at + LEASE + 2)).toEqual([1]);
    }
  });

  it('applies dedup and mute at delivery time; creates unknown users then', async () => {
    const { store } = make();
    await store.updatePreferences('m', { mutedTypes: ['news'] }, T0);
    await store.schedule(later({ userIds: ['a', 'm', 'new'], dedupKey: 'k', dedupWindowMs: HOUR }), T0);
    const at = T0 + MIN;
    await sendOne(store, 'a', at - 1, { dedupKey: 'k', window: HOUR });
    const [s] = await store.claimScheduled(at, 10, LEASE);
    expect(statuses(await deliverScheduled(store, s!, at))).toEqual(['deduplicated', 'muted', 'stored']);
    expect((await store.getUsers(['new']))[0]).toMatchObject({ id: 'new', active: true, createdAt: at });
  });

  it('expires delivered items by their TTL from delivery, and their marks with the rest (pruneExpired)', async () => {
    const { store, keys } = make();
    await store.schedule(later({ userIds: ['a'], ttlMs: MIN }), T0);
    const at = T0 + HOUR;
    const [s] = await store.claimScheduled(at, 10, LEASE);
    await deliverScheduled(store, s!, at);
    await store.completeScheduled(s!.id);
    expect(await listIds(store, 'a', at + MIN - 1)).toHaveLength(1);
    expect(await listIds(store, 'a', at + MIN)).toHaveLength(0);
    await store.pruneExpired(at + 2 * 24 * HOUR);
    if (keys) expect((await keys()).filter((k) => k.includes('sched') || k.includes(':dedup'))).toEqual([]);
  });

  it('beginJobRun: one owner at a time; only the owner releases the lock (endJobRun)', async () => {
    const { store } = make();
    expect(await store.beginJobRun('job-a', { token: 'A', ttlMs: MIN, slot: null }, T0)).toBe('started');
    expect(await store.beginJobRun('job-a', { token: 'B', ttlMs: MIN, slot: null }, T0 + 1)).toBe('busy');
    // another job has its own lock
    expect(await store.beginJobRun('job-b', { token: 'B', ttlMs: MIN, slot: null }, T0 + 1)).toBe('started');
    // a stranger's end records its status but can't release A's lock
    await store.endJobRun('job-a', { token: 'B', startedAt: T0 + 1, status: 'ok' });
    expect(await store.beginJobRun('job-a', { token: 'C', ttlMs: MIN, slot: null }, T0 + 2)).toBe('busy');
    await store.endJobRun('job-a', { token: 'A', startedAt: T0, status: 'failed: boom' });
    expect(await store.beginJobRun('job-a', { token: 'C', ttlMs: MIN, slot: null }, T0 + 3)).toBe('started');
    expect(await store.jobStatuses(['job-a', 'job-b', 'never'])).toEqual([
      { lastRunAt: T0, lastStatus: 'failed: boom' },
      { lastRunAt: null, lastStatus: null },
      { lastRunAt: null, lastStatus: null },
    ]);
  });

  it('beginJobRun: a lock whose owner died frees itself after its TTL', async () => {
    const { store } = make();
    expect(await store.beginJobRun('job-a', { token: 'A', ttlMs: 30, slot: null }, T0)).toBe('started');
    expect(await store.beginJobRun('job-a', { token: 'B', ttlMs: 30, slot: null }, T0 + 1)).toBe('busy');
    // Redis counts PX in real time; the memory store by `now`.
    await new Promise((r) => setTimeout(r, 60));
    expect(await store.beginJobRun('job-a', { token: 'B', ttlMs: 30, slot: null }, T0 + 60)).toBe('started');
  });

  it('beginJobRun: each scheduled slot runs once, even after the lock is released; manual runs have no slot', async () => {
    const { store } = make();
    const slot = T0 + HOUR;
    expect(await store.beginJobRun('job-a', { token: 'A', ttlMs: MIN, slot }, T0)).toBe('started');
    await store.endJobRun('job-a', { token: 'A', startedAt: T0, status: 'ok' });
    // a late instance for the same occurrence, or an older one
    expect(await store.beginJobRun('job-a', { token: 'B', ttlMs: MIN, slot }, T0 + 5)).toBe('done');
    expect(await store.beginJobRun('job-a', { token: 'B', ttlMs: MIN, slot: slot - MIN }, T0 + 5)).toBe('done');
    expect(await store.beginJobRun('job-a', { token: 'M', ttlMs: MIN, slot: null }, T0 + 6)).toBe('started');
    await store.endJobRun('job-a', { token: 'M', startedAt: T0 + 6, status: 'ok' });
    expect(await store.beginJobRun('job-a', { token: 'C', ttlMs: MIN, slot: slot + MIN }, T0 + 7)).toBe('started');
    // busy wins over a new slot while someone runs
    expect(await store.beginJobRun('job-a', { token: 'D', ttlMs: MIN, slot: slot + 2 * MIN }, T0 + 8)).toBe('busy');
  });

  // Redis-only: registered for that backend alone.
  if (name === 'redis') it('keeps job state under P{g}:job:NAME and its lock, which carries a TTL', async () => {
    const prefix = uniquePrefix();
    prefixesToDelete.push(prefix);
    const store = createRedisStore({ redis, cap: 10, prefix, channels: channelNames(prefix) });
    await store.beginJobRun('job-a', { token: 'tok', ttlMs: MIN, slot: T0 }, T0);
    expect(await redis.get(`${prefix}{g}:job:job-a:lock`)).toBe('tok');
    const ttl = await redis.pttl(`${prefix}{g}:job:job-a:lock`);
    expect(ttl).toBeGreaterThan(MIN - 5 * SEC);
    expect(await redis.hgetall(`${prefix}{g}:job:job-a`)).toEqual({ lastSlot: String(T0) });
    await store.endJobRun('job-a', { token: 'tok', startedAt: T0, status: 'ok' });
    expect(await redis.exists(`${prefix}{g}:job:job-a:lock`)).toBe(0);
    await expect(store.beginJobRun('Bad:Name', { token: 't', ttlMs: MIN, slot: null }, T0)).rejects.toThrow(/job name/);
  });
});
