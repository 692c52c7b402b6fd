/**
 * The two-level cache (src/cache/cache.ts) on its own: L1 expiry and single-flight, L2 across
 * "instances" (two caches on one Redis prefix), the lock and its fallbacks, Redis failures, the
 * hit/miss counts, and the per-request loader. Time is the test's clock; nothing sleeps for TTLs.
 */
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { createCache, type CacheOptions } from '../src/cache/cache.js';
import { RequestCache } from '../src/cache/request-cache.js';
import { cacheKeys } from '../src/store/redis/keys.js';
import { deleteByPrefix, newRedis, uniquePrefix, withRedis } from './helpers/redis.js';

const redis = withRedis();
const prefixes: string[] = [];
const extra: Redis[] = [];
afterEach(async () => {
  for (const p of prefixes.splice(0)) await deleteByPrefix(redis, p);
  for (const r of extra.splice(0)) r.disconnect();
});

function clock(start = Date.UTC(2026, 10, 24, 12)) {
  const c = { now: start, fn: () => c.now };
  return c;
}

/** A counting computation that resolves when told to (or at once). */
function computation<T>(value: (n: number) => T, opts: { gate?: Promise<void> } = {}) {
  const c = {
    calls: 0,
    fn: async () => {
      const n = ++c.calls;
      await opts.gate;
      return value(n);
    },
  };
  return c;
}

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/**
 * The test Redis, telling `seen` each reply to `command` once it arrived: a test waits for what
 * an instance did (lost the lock, released it) instead of sleeping a while.
 */
function watched(command: 'set' | 'del', seen: (args: unknown[], reply: unknown) => void): Redis {
  return new Proxy(redis, {
    get(target, name) {
      const value = Reflect.get(target, name, target) as unknown;
      if (typeof value !== 'function') return value;
      if (name !== command) return value.bind(target);
      return async (...args: unknown[]) => {
        const reply: unknown = await value.apply(target, args);
        seen(args, reply);
        return reply;
      };
    },
  });
}

/** Two caches on one Redis prefix: two instances of the server. `make(o, conn)`: another one, on `conn`. */
function cluster(opts: Partial<CacheOptions> = {}) {
  const prefix = uniquePrefix();
  prefixes.push(prefix);
  const t = clock();
  const make = (o: Partial<CacheOptions> = {}, conn: Redis = redis) => createCache({ l2: { redis: conn, keys: cacheKeys(prefix) }, clock: t.fn, ...opts, ...o });
  /** resolves when a `SET … NX` (the single-flight lock) came back refused */
  const lockRefused = deferred();
  const refusals = watched('set', (args, reply) => {
    if (args.includes('NX') && reply === null) lockRefused.resolve();
  });
  return { prefix, t, a: make(), b: make(), make, lockRefused, refusals };
}

describe('L1', () => {
  it('computes once for concurrent callers and keeps the value for its TTL', async () => {
    const t = clock();
    const cache = createCache({ clock: t.fn });
    const gate = deferred();
    const c = computation((n) => ({ n }), { gate: gate.promise });
    const spec = { key: 'k', ttlMs: 10_000, shared: false };
    const all = Promise.all(Array.from({ length: 20 }, () => cache.get(spec, c.fn)));
    gate.resolve();
    const results = await all;
    expect(c.calls).toBe(1);
    expect(new Set(results).size).toBe(1);
    expect(results[0]).toEqual({ value: { n: 1 }, computedAt: t.now });
    const start = t.now;
    t.now += 9_999;
    expect(await cache.get(spec, c.fn)).toEqual({ value: { n: 1 }, computedAt: start });
    t.now += 1;
    expect(await cache.get(spec, c.fn)).toEqual({ value: { n: 2 }, computedAt: start + 10_000 });
    expect(cache.counters()).toEqual({ l1Hits: 1, l2Hits: 0, joined: 19, misses: 2, l2Errors: 0 });
  });

  it('does not cache a failed computation; every waiting caller gets the error', async () => {
    expect.assertions(3);
    const cache = createCache();
    let calls = 0;
    const fail = async () => {
      calls++;
      throw new Error('boom');
    };
    const spec = { key: 'k', ttlMs: 10_000, shared: false };
    const results = await Promise.allSettled([cache.get(spec, fail), cache.get(spec, fail)]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    await expect(cache.get(spec, fail)).rejects.toThrow('boom');
    expect(calls).toBe(2);
  });

  it('TTL 0 or enabled:false computes every time', async () => {
    const c = computation((n) => n);
    const zero = createCache();
    await zero.get({ key: 'k', ttlMs: 0, shared: false }, c.fn);
    await zero.get({ key: 'k', ttlMs: 0, shared: false }, c.fn);
    const off = createCache({ l2: { redis, keys: cacheKeys(uniquePrefix()) }, enabled: false });
    await off.get({ key: 'k', ttlMs: 60_000, shared: true }, c.fn);
    await off.get({ key: 'k', ttlMs: 60_000, shared: true }, c.fn);
    expect(c.calls).toBe(4);
    expect(off.counters().misses).toBe(2);
  });

  it('drops the oldest entries beyond maxEntries', async () => {
    const cache = createCache({ maxEntries: 2 });
    const c = computation((n) => n);
    for (const key of ['a', 'b', 'c', 'a']) await cache.get({ key, ttlMs: 60_000, shared: false }, c.fn);
    expect(c.calls).toBe(4); // 'a' was dropped when 'c' came
  });
});

describe('L2: across instances', () => {
  it('one instance computes a shared entry; the other reads it, with its computedAt and remaining TTL', async () => {
    const { a, b, t } = cluster();
    const c = computation((n) => ({ n, list: [1, 'x'] }));
    const spec = { key: 'shared', ttlMs: 30_000, shared: true };
    const first = await a.get(spec, c.fn);
    const start = t.now;
    t.now += 20_000;
    expect(await b.get(spec, c.fn)).toEqual(first);
    expect(b.counters()).toMatchObject({ l2Hits: 1, misses: 0 });
    // b keeps it only until computedAt + TTL, not 30 s from when b read it
    t.now = start + 30_000;
    expect((await b.get(spec, c.fn)).value).toEqual({ n: 2, list: [1, 'x'] });
    expect(c.calls).toBe(2);
  });

  it('100 concurrent callers on two instances: one computation', async () => {
    const { make, lockRefused, refusals } = cluster();
    const [a, b] = [make({}, refusals), make({}, refusals)];
    // The winner computes until the other instance has been refused the lock, and so waits for its value.
    const c = computation((n) => n, { gate: lockRefused.promise });
    const spec = { key: 'hot', ttlMs: 30_000, shared: true };
    const results = await Promise.all(Array.from({ length: 100 }, (_, i) => (i % 2 ? a : b).get(spec, c.fn)));
    expect(c.calls).toBe(1);
    expect(new Set(results.map((r) => JSON.stringify(r))).size).toBe(1);
    const [ca, cb] = [a.counters(), b.counters()];
    expect(ca.misses + cb.misses).toBe(1);
    expect(ca.l2Hits + cb.l2Hits).toBe(1); // the loser's one poll that found it; the rest joined on each instance
  });

  it('a loser whose winner never delivers computes after waitMs, without an error', async () => {
    const { prefix, make } = cluster();
    const b = make({ waitMs: 60 });
    await redis.set(cacheKeys(prefix).lock('stuck'), 'dead-instance', 'PX', 10_000);
    const c = computation(() => 'mine');
    const t0 = performance.now();
    expect((await b.get({ key: 'stuck', ttlMs: 30_000, shared: true }, c.fn)).value).toBe('mine');
    expect(performance.now() - t0).toBeGreaterThanOrEqual(55);
    expect(c.calls).toBe(1);
    // and it stored the value for the others
    expect(JSON.parse((await redis.get(cacheKeys(prefix).value('stuck')))!)).toMatchObject({ v: 'mine' });
  });

  it('when the winner fails, the waiting instance computes as soon as the lock is gone (no error of the winner reaches it)', async () => {
    expect.assertions(4);
    const { a, make, lockRefused, refusals } = cluster();
    const b = make({}, refusals);
    const spec = { key: 'w', ttlMs: 30_000, shared: true };
    const computing = deferred();
    const failing = a.get(spec, async () => {
      computing.resolve(); // a holds the lock
      await lockRefused.promise; // b was refused it: b waits for a's value
      throw new Error('winner failed');
    });
    await computing.promise;
    const t0 = performance.now();
    const waiting = b.get(spec, async () => 'from b');
    await expect(failing).rejects.toThrow('winner failed');
    expect((await waiting).value).toBe('from b');
    expect(performance.now() - t0).toBeLessThan(1000); // not the whole waitMs (2 s)
    expect(b.counters().misses).toBe(1);
  });

  it('releases the lock when the computation fails, so the next caller computes at once', async () => {
    expect.assertions(3);
    const { prefix, make } = cluster();
    // The failing caller does not await the DEL: wait for its reply.
    const released = deferred();
    const a = make({}, watched('del', () => released.resolve()));
    await expect(a.get({ key: 'f', ttlMs: 30_000, shared: true }, async () => Promise.reject(new Error('nope')))).rejects.toThrow('nope');
    await released.promise;
    expect(await redis.exists(cacheKeys(prefix).lock('f'))).toBe(0);
    expect((await a.get({ key: 'f', ttlMs: 30_000, shared: true }, async () => 'ok')).value).toBe('ok');
  });

  it('a stale L2 value (older than the TTL by the clock) is recomputed', async () => {
    const { a, b, t } = cluster();
    const c = computation((n) => n);
    const spec = { key: 's', ttlMs: 1_000, shared: true };
    await a.get(spec, c.fn);
    t.now += 1_000; // Redis still holds it (real time barely moved): the computedAt check decides
    expect((await b.get(spec, c.fn)).value).toBe(2);
  });
});

describe('Redis failures degrade to computing', () => {
  it.each([
    ['a quit client', async () => {
      const r = newRedis();
      await r.quit();
      return r;
    }],
    ['a client that never connects (calls time out)', async () => {
      const r = new Redis({ host: '127.0.0.1', port: 1, lazyConnect: false, maxRetriesPerRequest: null, retryStrategy: () => 50 });
      r.on('error', () => {});
      extra.push(r);
      return r;
    }],
  ])('%s', async (_name, broken) => {
    const l2 = await broken();
    const t = clock();
    const cache = createCache({ l2: { redis: l2, keys: cacheKeys(uniquePrefix()) }, clock: t.fn, l2TimeoutMs: 50 });
    const c = computation((n) => n);
    const spec = { key: 'k', ttlMs: 30_000, shared: true };
    expect((await cache.get(spec, c.fn)).value).toBe(1);
    expect((await cache.get(spec, c.fn)).value).toBe(1); // L1 still works
    expect(await cache.stats()).toEqual({ hits: 1, misses: 1 }); // this instance's, as a fallback
    expect(cache.counters().l2Errors).toBeGreaterThanOrEqual(1);
  });
});

describe('Redis failures: circuit breaker', () => {
  it('after a failure, L2 is skipped for l2RetryMs: no more waiting on a Redis that does not answer', async () => {
    const r = new Redis({ host: '127.0.0.1', port: 1, maxRetriesPerRequest: null, retryStrategy: () => 50 });
    r.on('error', () => {});
    extra.push(r);
    const t = clock();
    const cache = createCache({ l2: { redis: r, keys: cacheKeys(uniquePrefix()) }, clock: t.fn, l2TimeoutMs: 100, l2RetryMs: 150 });
    const timed = async (key: string) => {
      const t0 = performance.now();
      await cache.get({ key, ttlMs: 30_000, shared: true }, async () => key);
      return performance.now() - t0;
    };
    expect(await timed('a')).toBeGreaterThanOrEqual(95); // waited for the timeout once
    expect(await timed('b')).toBeLessThan(50); // L2 is down: straight to computing
    await new Promise((res) => setTimeout(res, 160));
    expect(await timed('c')).toBeGreaterThanOrEqual(95); // tried again after l2RetryMs
    expect(cache.counters()).toMatchObject({ misses: 3, l2Errors: 2 });
  });
});

describe('hit and miss counts', () => {
  it('are summed over the instances through Redis, per UTC day, without a command per hit', async () => {
    const { a, b, t } = cluster();
    const spec = { key: 'n', ttlMs: 30_000, shared: true };
    await a.get(spec, async () => 1); // miss (GET + lock + SET)
    for (let i = 0; i < 5; i++) await a.get(spec, async () => 1); // 5 L1 hits, no Redis
    await b.get(spec, async () => 1); // L2 hit; the GET carries nothing yet
    expect(await b.stats()).toEqual({ hits: 1, misses: 0 }); // b's own flushed; a's still pending
    t.now += 30_000;
    await a.get(spec, async () => 2); // this miss's GET carries a's pending counts
    expect(await b.stats()).toEqual({ hits: 6, misses: 1 });
    expect(await a.stats()).toEqual({ hits: 6, misses: 2 });
    // next day starts at zero
    t.now = Date.UTC(2026, 10, 25);
    expect(await a.stats()).toEqual({ hits: 0, misses: 0 });
  });

  it('without L2, are this instance\'s', async () => {
    const cache = createCache();
    await cache.get({ key: 'k', ttlMs: 1000, shared: true }, async () => 1);
    await cache.get({ key: 'k', ttlMs: 1000, shared: true }, async () => 1);
    expect(await cache.stats()).toEqual({ hits: 1, misses: 1 });
  });
});

describe('define: reusable cached computations', () => {
  it('builds the key from the name and keyArgs only', async () => {
    const cache = createCache();
    let calls = 0;
    const byUser = cache.define({ name: 'user.badge', ttlMs: 5_000, shared: true, keyArgs: ['userId'] }, async (a: { userId: string; traceId: string }) => {
      calls++;
      return `badge of ${a.userId}`;
    });
    expect(byUser.key({ userId: 'u-1', traceId: 'x' })).toBe('user.badge:userId=u-1');
    expect(byUser.key({ userId: 'odd {id} with spaces', traceId: 'x' })).toMatch(/^user\.badge:userId@[0-9a-f]{24}$/);
    expect((await byUser({ userId: 'u-1', traceId: 'x' })).value).toBe('badge of u-1');
    expect((await byUser({ userId: 'u-1', traceId: 'y' })).value).toBe('badge of u-1');
    expect((await byUser({ userId: 'u-2', traceId: 'y' })).value).toBe('badge of u-2');
    expect(calls).toBe(2);
    expect(() => cache.define({ name: 'user.badge', ttlMs: 1, shared: false }, async () => 1)).toThrow(/twice/);
    expect(() => cache.define({ name: 'bad name', ttlMs: 1, shared: false }, async () => 1)).toThrow(/name/);
  });

  it('RequestCache asks the cache once per key per request', async () => {
    const cache = createCache({ enabled: false }); // so every ask would compute
    let calls = 0;
    const part = cache.define({ name: 'part', ttlMs: 5_000, shared: false }, async () => ++calls);
    const req = new RequestCache();
    const got = await Promise.all([req.load(part, {}), req.load(part, {}), req.load(part, {})]);
    expect(got.map((c) => c.value)).toEqual([1, 1, 1]);
    expect((await new RequestCache().load(part, {})).value).toBe(2);
    req.clear();
    expect((await req.load(part, {})).value).toBe(3);
  });
});
