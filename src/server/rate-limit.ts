/**
 * Mutations per principal (config RATE_LIMIT_SERVICE, RATE_LIMIT_USER), checked when an
 * operation is about to execute (execute.ts): over HTTP, SSE and WebSocket alike, and before
 * any resolver runs, so a refused operation changes nothing.
 *
 * Each principal has `rate` mutations per second plus a burst allowance of another `rate`,
 * refilled every {@link BURST_WINDOW_S} s (as rate-limiter-flexible's BurstyRateLimiter does): a burst
 * can reach twice the rate, the sustained ceiling is rate × (1 + 1/10). Counters live in Redis
 * (shared by every instance, keys from keys.ts) or, on the memory backend, in this process.
 */
import { GraphQLError, Kind, type DocumentNode, type SelectionSetNode } from 'graphql';
import type { Cluster, Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { rateLimitKeys } from '../store/redis/keys.js';
import type { Principal } from './auth.js';

/** Mutations per second per principal class; 0 turns that limit off. */
export interface RateLimits {
  /** service and admin principals */
  service: number;
  /** principals with only the user role */
  user: number;
}

/** How often the burst allowance refills. */
export const BURST_WINDOW_S = 10;

/** Classes with at least this rate per second lease part of their window (see createMutationLimiter). */
export const LEASE_MIN_RATE = 1000;
/** The share of the rate a lease takes. */
const LEASE_SHARE = 0.01;
/** Principals with a lease kept at most (expired ones are dropped beyond it). */
const MAX_LEASES = 1000;

type PrincipalClass = keyof RateLimits;

export interface MutationLimiter {
  /**
   * Takes `points` (the operation's mutation fields) from the principal's budget.
   * @returns null when allowed, else the whole seconds to wait before retrying.
   */
  take(principal: Principal, points: number): Promise<number | null>;
}

/** A principal's pending takes, settled together. */
interface Take {
  points: number;
  resolve(wait: number | null): void;
  reject(err: unknown): void;
}

/**
 * @param redis - the command connection (Redis backend); null: counters in this process.
 *
 * Takes of one principal that arrive in the same turn of the event loop are settled with one
 * consume of their sum per bucket, not one Redis round trip each: under load a service's
 * concurrent mutations share a call. The outcome is each take's own, as if consumed one by
 * one in arrival order (what rate-limiter-flexible's BurstyRateLimiter does): a take passes if
 * the window's count up to and including it fits the rate, else if the burst bucket's count,
 * over the takes the window refused, fits; every take counts in the window, refused ones too.
 *
 * A class whose rate is at least {@link LEASE_MIN_RATE} (services, by default) also leases: a
 * settle far from the limit (the window at most half used after it, by the count this
 * instance saw last) consumes {@link LEASE_SHARE} of
 * the rate more than its takes, and this instance spends that lease on the principal's next
 * takes without a round trip until the window ends. Every admitted take is still counted in
 * Redis, so no instance admits more than the window allows; an unused lease is budget other
 * instances can't use until the window ends (at most a hundredth of the rate each). Without
 * it, every mutation waited for one more Redis round trip, which cost a service's sends about
 * a sixth of their throughput (docs/performance.md).
 */
export function createMutationLimiter({ limits, redis, prefix }: { limits: RateLimits; redis: Redis | Cluster | null; prefix?: string }): MutationLimiter {
  const keys = rateLimitKeys(prefix);
  const make = (cls: PrincipalClass) => {
    const rate = limits[cls];
    if (rate === 0) return null;
    const limiter = (keyPrefix: string, duration: number) =>
      redis ? new RateLimiterRedis({ storeClient: redis, keyPrefix, points: rate, duration }) : new RateLimiterMemory({ keyPrefix, points: rate, duration });
    return { rate, window: limiter(`${keys.window}:${cls}`, 1), burst: limiter(`${keys.burst}:${cls}`, BURST_WINDOW_S) };
  };
  const byClass = { service: make('service'), user: make('user') };
  type Bucket = NonNullable<typeof byClass.service>;

  /** principal class and sub -> the share of the window this instance holds, until the window ends, and its count at the last settle */
  const leases = new Map<string, { points: number; until: number; count: number }>();

  const sumOf = (takes: Take[]) => takes.reduce((n, t) => n + t.points, 0);

  /**
   * Consumes `sum` (the points of `takes`) plus `extra` after them; resolves with the count
   * before them and the result (null: thrown by the store).
   */
  const consume = async (limiter: RateLimiterAbstract, sub: string, takes: Take[], sum: number, extra = 0) => {
    try {
      const res = await limiter.consume(sub, sum + extra);
      return { before: res.consumedPoints - sum - extra, res, ok: true };
    } catch (err) {
      if (!(err instanceof RateLimiterRes)) {
        for (const t of takes) t.reject(err);
        return null;
      }
      return { before: err.consumedPoints - sum - extra, res: err, ok: false };
    }
  };

  /** The lease to ask for with `sum` points of takes: only far from the limit, by what this instance last saw of the window. */
  const leasing = (bucket: Bucket) => redis !== null && bucket.rate >= LEASE_MIN_RATE;
  const leaseFor = (bucket: Bucket, key: string, sum: number, now: number) => {
    if (!leasing(bucket)) return 0;
    const size = Math.floor(bucket.rate * LEASE_SHARE);
    const last = leases.get(key);
    const count = last && last.until > now ? last.count : 0;
    return count + sum + size <= bucket.rate / 2 ? size : 0;
  };

  const settle = async (bucket: Bucket, key: string, sub: string, takes: Take[]) => {
    const now = Date.now();
    const sum = sumOf(takes);
    const extra = leaseFor(bucket, key, sum, now);
    const w = await consume(bucket.window, sub, takes, sum, extra);
    if (!w) return;
    const refused: Take[] = [];
    let count = w.before;
    for (const t of takes) {
      count += t.points;
      if (w.ok || count <= bucket.rate) t.resolve(null);
      else refused.push(t);
    }
    if (leasing(bucket)) {
      // What of the lease fit in the window is this instance's until the window ends; the
      // window's count is kept either way, so the next settle knows how far the limit is.
      const held = leases.get(key);
      const kept = held && held.until > now ? held.points : 0;
      const granted = Math.max(0, Math.min(extra, bucket.rate - count));
      if (leases.size >= MAX_LEASES) for (const [k, l] of leases) if (l.until <= now) leases.delete(k);
      leases.set(key, { points: kept + granted, until: now + w.res.msBeforeNext, count: w.res.consumedPoints });
    }
    if (refused.length === 0) return;
    const b = await consume(bucket.burst, sub, refused, sumOf(refused));
    if (!b) return;
    const wait = Math.max(1, Math.ceil(Math.min(w.res.msBeforeNext, b.res.msBeforeNext) / 1000));
    count = b.before;
    for (const t of refused) {
      count += t.points;
      t.resolve(b.ok || count <= bucket.rate ? null : wait);
    }
  };

  // principal class and sub -> takes of this turn
  let pending: Map<string, { bucket: Bucket; sub: string; takes: Take[] }> | null = null;
  const flush = () => {
    const batch = pending!;
    pending = null;
    for (const [key, { bucket, sub, takes }] of batch) void settle(bucket, key, sub, takes);
  };

  return {
    take(principal, points) {
      const cls: PrincipalClass = principal.roles.some((r) => r === 'service' || r === 'admin') ? 'service' : 'user';
      const bucket = byClass[cls];
      if (!bucket || points === 0) return Promise.resolve(null);
      const key = `${cls}\n${principal.sub}`;
      const lease = leases.get(key);
      if (lease && lease.points >= points && lease.until > Date.now()) {
        lease.points -= points;
        return Promise.resolve(null);
      }
      if (!pending) {
        pending = new Map();
        setImmediate(flush);
      }
      let entry = pending.get(key);
      if (!entry) pending.set(key, (entry = { bucket, sub: principal.sub, takes: [] }));
      const takes = entry.takes;
      return new Promise((resolve, reject) => takes.push({ points, resolve, reject }));
    },
  };
}

/** Root fields of the operation's selection, through fragments: what a mutation costs. */
export function mutationCost(set: SelectionSetNode, document: DocumentNode): number {
  let n = 0;
  for (const s of set.selections) {
    if (s.kind === Kind.FIELD) n += s.name.value === '__typename' ? 0 : 1;
    else if (s.kind === Kind.INLINE_FRAGMENT) n += mutationCost(s.selectionSet, document);
    else {
      const fragment = document.definitions.find((d) => d.kind === Kind.FRAGMENT_DEFINITION && d.name.value === s.name.value);
      if (fragment?.kind === Kind.FRAGMENT_DEFINITION) n += mutationCost(fragment.selectionSet, document);
    }
  }
  return n;
}

/** The RATE_LIMITED error; over HTTP also status 429 with Retry-After. */
export function rateLimited(retryAfterSeconds: number): GraphQLError {
  return new GraphQLError(`Too many mutations: rate limit reached, retry in ${retryAfterSeconds} s.`, {
    extensions: { code: 'RATE_LIMITED', retryAfterSeconds, http: { status: 429, headers: { 'retry-after': String(retryAfterSeconds) } } },
  });
}
