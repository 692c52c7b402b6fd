/**
 * A two-level cache any resolver can use: L1 in this process, L2 in Redis for entries that are
 * the same on every instance, with single-flight on both levels.
 *
 * - L1: a map with expiry; one in-flight promise per key, so concurrent callers on this
 *   instance share one computation.
 * - L2 (shared entries, when a Redis is given): `GET` the value; if absent or stale, one instance
 *   takes a short lock (`SET NX PX`) and computes, the others poll the value while the lock
 *   lives and compute themselves only if it never comes. So N instances compute a shared entry
 *   once per TTL.
 * - Every entry carries the time its computation started (`computedAt`); L1 keeps an entry
 *   read from L2 only until `computedAt + ttl`, so every instance sees the same TTL windows.
 * - Redis failures (errors, a closed client, a call slower than `l2TimeoutMs`) never surface:
 *   the value is computed and returned (logged at debug), and L2 is skipped for `l2RetryMs`.
 *   Errors of `compute` do surface, and are not cached.
 * - Hits and misses are counted per UTC day; with L2, the counts of every instance are summed
 *   in Redis (flushed on the L2 round trips a miss makes anyway, so a hit costs no command).
 *
 * Values go through JSON in L2: keep them plain data. Callers share the returned objects:
 * never mutate them. Redis keys come from the injected {@link CacheKeys} (src/store/redis/keys.ts
 * `cacheKeys`, given by the composition root).
 */
import { createHash, randomBytes } from 'node:crypto';
import type { ChainableCommander, Cluster, Redis } from 'ioredis';
import { statsDay } from '../store/store.js';
import type { Metrics } from '../metrics/metrics.js';

/** A value and when its computation started (epoch ms, the cache's clock). */
export interface Cached<T> {
  value: T;
  computedAt: number;
}

/** Where the shared level keeps its entries, locks and day counters (src/store/redis/keys.ts `cacheKeys`). */
export interface CacheKeys {
  value(key: string): string;
  lock(key: string): string;
  stats(day: string): string;
  /** how long a day's counters are kept */
  statsTtlMs: number;
}

export interface CacheOptions {
  /** Redis for shared entries and the cluster-wide counters, and its keys; null: this process only. Never closed here. */
  l2?: { redis: Redis | Cluster; keys: CacheKeys } | null;
  /** @default Date.now */
  clock?: () => number;
  /** false: every call computes (benchmarks, debugging); misses are still counted. @default true */
  enabled?: boolean;
  logger?: { debug(obj: object, msg: string): void };
  /** Longest a single-flight lock is held (capped by the entry's TTL). @default 2000 */
  lockMs?: number;
  /**
   * How long an instance that lost the lock polls for the winner's value before computing
   * itself; it stops waiting at once if the lock goes without a value (the winner failed).
   * @default 2000 (lockMs)
   */
  waitMs?: number;
  /**
   * A Redis call slower than this counts as failed: the value is computed instead. Generous,
   * because a saturated event loop delays replies too (250 ms tripped under bench overload).
   * @default 1000
   */
  l2TimeoutMs?: number;
  /** After a failed Redis call, L2 is skipped this long (no waiting on a Redis that is away). @default 5000 */
  l2RetryMs?: number;
  /** Most L1 entries; the oldest are dropped first. @default 10000 */
  maxEntries?: number;
  /** hits and misses per part (the key up to its first ':', a {@link CachedDef} name) */
  metrics?: Pick<Metrics, 'cacheHits' | 'cacheMisses'> | null;
}

/** One entry: its key, how long a value stays fresh, and whether it is the same on every instance (L2). */
export interface EntrySpec {
  key: string;
  ttlMs: number;
  shared: boolean;
}

/** A reusable cached computation: `name` plus the values of `keyArgs` make the key. */
export interface CachedDef<A> {
  /** [A-Za-z0-9_.-], unique per cache, e.g. "dashboard.notifications" */
  name: string;
  ttlMs: number;
  /** true: the same on every instance, so it goes to L2 as well */
  shared: boolean;
  /** the arguments that make the key (in this order); the others must not change the result */
  keyArgs?: readonly (keyof A & string)[];
}

export interface CachedFn<A, T> {
  (args: A): Promise<Cached<T>>;
  /** the cache key for these arguments */
  key(args: A): string;
  readonly def: CachedDef<A>;
}

/** This instance's counts since it started. */
export interface CacheCounters {
  /** served from L1 */
  l1Hits: number;
  /** served from L2 (another instance computed it) */
  l2Hits: number;
  /** joined a computation already running on this instance */
  joined: number;
  /** computed here */
  misses: number;
  /** Redis calls that failed or timed out (each fell back to computing) */
  l2Errors: number;
}

export interface Cache {
  /** The value of `spec.key`, fresh within `spec.ttlMs`, computing it at most once per window. */
  get<T>(spec: EntrySpec, compute: () => Promise<T>): Promise<Cached<T>>;
  /** Wraps `compute` as a {@link CachedFn}: `fn(args)` is `get({ key: fn.key(args), ... }, () => compute(args))`. */
  define<A, T>(def: CachedDef<A>, compute: (args: A) => Promise<T>): CachedFn<A, T>;
  /** Hits (L1, L2, joined) and misses of today (UTC): every instance's when L2 is on, else this one's. */
  stats(): Promise<{ hits: number; misses: number }>;
  counters(): Readonly<CacheCounters>;
  readonly enabled: boolean;
  /** Drops every L1 entry (L2 entries expire by themselves). */
  clear(): void;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
/** Poll delays while another instance computes: quick at first, then every 50 ms. */
const POLL_MS = [2, 5, 10, 20, 40];
const POLL_MAX_MS = 50;
const SIMPLE_ARG = /^[A-Za-z0-9_.-]{1,64}$/;
/** Longest key `define` makes: a name and key args of {@link SIMPLE_ARG} characters, '=', '@', ':' and ',' (keys.ts CACHE_KEY). */
const MAX_KEY_LENGTH = 200;

class L2Failure extends Error {}

export function createCache({
  l2: shared = null,
  clock = Date.now,
  enabled = true,
  logger,
  lockMs = 2000,
  waitMs = lockMs,
  l2TimeoutMs = 1000,
  l2RetryMs = 5000,
  maxEntries = 10_000,
  metrics = null,
}: CacheOptions = {}): Cache {
  const l2 = shared?.redis ?? null;
  const keys = shared?.keys;
  const l1 = new Map<string, { c: Cached<unknown>; expiresAt: number }>();
  const inflight = new Map<string, Promise<Cached<unknown>>>();
  const names = new Set<string>();
  const counters: CacheCounters = { l1Hits: 0, l2Hits: 0, joined: 0, misses: 0, l2Errors: 0 };
  /** today's counts on this instance */
  let today = { day: '', hits: 0, misses: 0 };
  /** counts not yet added to Redis, by day */
  const pending = new Map<string, { hits: number; misses: number }>();
  /** performance.now() until which L2 counts as down (real time: it is about Redis, not the data) */
  let l2DownUntil = -Infinity;
  const l2Up = () => l2 !== null && performance.now() >= l2DownUntil;

  const LEVEL = { l1Hits: 'l1', l2Hits: 'l2', joined: 'joined' } as const;
  const count = (what: 'l1Hits' | 'l2Hits' | 'joined' | 'misses', key: string) => {
    counters[what]++;
    if (metrics) {
      const colon = key.indexOf(':');
      const part = colon < 0 ? key : key.slice(0, colon);
      if (what === 'misses') metrics.cacheMisses.inc({ part });
      else metrics.cacheHits.inc({ part, level: LEVEL[what] });
    }
    const day = statsDay(clock());
    if (today.day !== day) today = { day, hits: 0, misses: 0 };
    const field = what === 'misses' ? 'misses' : 'hits';
    today[field]++;
    if (!l2) return;
    let p = pending.get(day);
    if (!p) pending.set(day, (p = { hits: 0, misses: 0 }));
    p[field]++;
  };

  /** Adds the pending counts to a pipeline; returns how to undo if the pipeline fails. */
  const flushInto = (p: ChainableCommander): (() => void) => {
    const taken = [...pending];
    pending.clear();
    for (const [day, n] of taken) {
      const k = keys!.stats(day);
      if (n.hits) p.hincrby(k, 'hits', n.hits);
      if (n.misses) p.hincrby(k, 'misses', n.misses);
      p.pexpire(k, keys!.statsTtlMs);
    }
    return () => {
      for (const [day, n] of taken) {
        const cur = pending.get(day) ?? { hits: 0, misses: 0 };
        pending.set(day, { hits: cur.hits + n.hits, misses: cur.misses + n.misses });
      }
    };
  };

  /** Runs a Redis call with a deadline; any failure becomes an L2Failure. */
  const redisCall = async <R>(key: string, call: (r: Redis | Cluster) => Promise<R>): Promise<R> => {
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        call(l2!),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no reply within ${l2TimeoutMs} ms`)), l2TimeoutMs);
        }),
      ]);
    } catch (err) {
      counters.l2Errors++;
      l2DownUntil = performance.now() + l2RetryMs;
      logger?.debug({ err: (err as Error).message, key }, 'cache: Redis unavailable, computing the value');
      throw new L2Failure();
    } finally {
      clearTimeout(timer);
    }
  };

  /** A pipeline's replies, failing as a whole if any command failed. */
  const exec = async (p: ChainableCommander) => {
    const replies = (await p.exec()) ?? [];
    for (const [err] of replies) if (err) throw err;
    return replies.map(([, v]) => v);
  };

  const fresh = (c: Cached<unknown>, ttlMs: number) => clock() - c.computedAt < ttlMs;

  const remember = (spec: EntrySpec, c: Cached<unknown>) => {
    const expiresAt = c.computedAt + spec.ttlMs;
    if (spec.ttlMs <= 0 || expiresAt <= clock()) return;
    l1.delete(spec.key);
    l1.set(spec.key, { c, expiresAt });
    if (l1.size > maxEntries) l1.delete(l1.keys().next().value!);
  };

  const computeHere = async <T>(spec: EntrySpec, compute: () => Promise<T>): Promise<Cached<T>> => {
    count('misses', spec.key);
    const computedAt = clock();
    const c = { value: await compute(), computedAt };
    remember(spec, c);
    return c;
  };

  const decode = (raw: unknown, ttlMs: number): Cached<unknown> | null => {
    if (typeof raw !== 'string') return null;
    try {
      const { t, v } = JSON.parse(raw) as { t?: unknown; v?: unknown };
      if (typeof t !== 'number') return null;
      const c = { value: v, computedAt: t };
      return fresh(c, ttlMs) ? c : null;
    } catch {
      return null;
    }
  };

  const fromL2 = (spec: EntrySpec, c: Cached<unknown>) => {
    count('l2Hits', spec.key);
    remember(spec, c);
    return c;
  };

  const throughL2 = async <T>(spec: EntrySpec, compute: () => Promise<T>): Promise<Cached<T>> => {
    const vk = keys!.value(spec.key);
    const lk = keys!.lock(spec.key);
    let found: Cached<unknown> | null;
    let won: boolean;
    try {
      // The GET carries this instance's pending hit/miss counts: no extra round trip for them.
      const p = l2!.pipeline().get(vk);
      const undo = flushInto(p);
      const [raw] = await redisCall(spec.key, () => exec(p)).catch((err) => (undo(), Promise.reject(err)));
      found = decode(raw, spec.ttlMs);
      if (found) return fromL2(spec, found) as Cached<T>;
      const token = randomBytes(6).toString('base64url');
      won = (await redisCall(spec.key, (r) => r.set(lk, token, 'PX', Math.max(1, Math.min(lockMs, spec.ttlMs)), 'NX'))) === 'OK';
    } catch (err) {
      if (err instanceof L2Failure) return computeHere(spec, compute);
      throw err;
    }
    if (!won) {
      // Another instance computes it: wait for its value while it holds the lock, then compute
      // ourselves (never fail): after waitMs, or as soon as the lock is gone without a value.
      for (let waited = 0, i = 0; waited < waitMs; i++) {
        const delay = POLL_MS[i] ?? POLL_MAX_MS;
        await sleep(delay);
        waited += delay;
        let raw: unknown;
        let locked: unknown;
        try {
          [raw, locked] = await redisCall(spec.key, () => exec(l2!.pipeline().get(vk).exists(lk)));
        } catch {
          break;
        }
        found = decode(raw, spec.ttlMs);
        if (found) return fromL2(spec, found) as Cached<T>;
        if (Number(locked) === 0) break;
      }
    }
    let c: Cached<T>;
    try {
      c = await computeHere(spec, compute);
    } catch (err) {
      if (won) void redisCall(spec.key, (r) => r.del(lk)).catch(() => {});
      throw err;
    }
    const ttlLeft = c.computedAt + spec.ttlMs - clock();
    const p = l2!.pipeline();
    if (ttlLeft > 0) p.set(vk, JSON.stringify({ t: c.computedAt, v: c.value }), 'PX', Math.ceil(ttlLeft));
    if (won) p.del(lk);
    await redisCall(spec.key, () => exec(p)).catch(() => {});
    return c;
  };

  const cache: Cache = {
    enabled,

    async get<T>(spec: EntrySpec, compute: () => Promise<T>): Promise<Cached<T>> {
      if (!enabled) return computeHere({ ...spec, ttlMs: 0 }, compute);
      const hit = l1.get(spec.key);
      if (hit && hit.expiresAt > clock()) {
        count('l1Hits', spec.key);
        return hit.c as Cached<T>;
      }
      const running = inflight.get(spec.key);
      if (running) {
        count('joined', spec.key);
        return running as Promise<Cached<T>>;
      }
      const p = spec.shared && spec.ttlMs > 0 && l2Up() ? throughL2(spec, compute) : computeHere(spec, compute);
      inflight.set(spec.key, p);
      const forget = () => {
        if (inflight.get(spec.key) === p) inflight.delete(spec.key);
      };
      p.then(forget, forget);
      return p;
    },

    define<A, T>(def: CachedDef<A>, compute: (args: A) => Promise<T>): CachedFn<A, T> {
      if (!SIMPLE_ARG.test(def.name)) throw new Error(`cache: name must match ${SIMPLE_ARG}, got ${JSON.stringify(def.name)}`);
      if (names.has(def.name)) throw new Error(`cache: "${def.name}" is defined twice`);
      names.add(def.name);
      const keyArgs = def.keyArgs ?? [];
      for (const k of keyArgs) if (!SIMPLE_ARG.test(k)) throw new Error(`cache: "${def.name}" key arg must match ${SIMPLE_ARG}, got ${JSON.stringify(k)}`);
      const key = (args: A) => {
        if (keyArgs.length === 0) return def.name;
        const parts = keyArgs.map((k) => {
          const v = (args as Record<string, unknown>)[k];
          const text = typeof v === 'string' ? v : JSON.stringify(v ?? null);
          // "k=v" for plain values; "k@<hash>" for anything else (long, or characters a key can't hold)
          return SIMPLE_ARG.test(text) ? `${k}=${text}` : `${k}@${createHash('sha256').update(text).digest('hex').slice(0, 24)}`;
        });
        const k = `${def.name}:${parts.join(',')}`;
        if (k.length > MAX_KEY_LENGTH) throw new Error(`cache: key ${JSON.stringify(k)} is longer than ${MAX_KEY_LENGTH}`);
        return k;
      };
      const fn = (args: A) => cache.get({ key: key(args), ttlMs: def.ttlMs, shared: def.shared }, () => compute(args));
      return Object.assign(fn, { key, def });
    },

    async stats() {
      const day = statsDay(clock());
      const local = today.day === day ? { hits: today.hits, misses: today.misses } : { hits: 0, misses: 0 };
      if (!l2 || !l2Up()) return local;
      const p = l2.pipeline();
      const undo = flushInto(p);
      p.hmget(keys!.stats(day), 'hits', 'misses');
      try {
        const replies = await redisCall('stats', () => exec(p));
        const [hits, misses] = replies.at(-1) as (string | null)[];
        return { hits: Number(hits ?? 0), misses: Number(misses ?? 0) };
      } catch {
        undo();
        return local;
      }
    },

    counters: () => ({ ...counters }),

    clear() {
      l1.clear();
    },
  };
  return cache;
}
