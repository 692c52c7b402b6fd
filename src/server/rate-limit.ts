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

  /** Consumes the sum of `takes`; resolves with the count before them and the result (null: thrown by the store). */
  const consume = async (limiter: RateLimiterAbstract, sub: string, takes: Take[]) => {
    const sum = takes.reduce((n, t) => n + t.points, 0);
    try {
      const res = await limiter.consume(sub, sum);
      return { before: res.consumedPoints - sum, res, ok: true };
    } catch (err) {
      if (!(err instanceof RateLimiterRes)) {
        for (const t of takes) t.reject(err);
        return null;
      }
      return { before: err.consumedPoints - sum, res: err, ok: false };
    }
  };

  const settle = async (bucket: Bucket, sub: string, takes: Take[]) => {
    const w = await consume(bucket.window, sub, takes);
    if (!w) return;
    const refused: Take[] = [];
    let count = w.before;
    for (const t of takes) {
      count += t.points;
      if (w.ok || count <= bucket.rate) t.resolve(null);
      else refused.push(t);
    }
    if (refused.length === 0) return;
    const b = await consume(bucket.burst, sub, refused);
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
    for (const { bucket, sub, takes } of batch.values()) void settle(bucket, sub, takes);
  };

  return {
    take(principal, points) {
      const cls: PrincipalClass = principal.roles.some((r) => r === 'service' || r === 'admin') ? 'service' : 'user';
      const bucket = byClass[cls];
      if (!bucket || points === 0) return Promise.resolve(null);
      if (!pending) {
        pending = new Map();
        setImmediate(flush);
      }
      const key = `${cls}\n${principal.sub}`;
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
