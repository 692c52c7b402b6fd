import { createHash } from 'node:crypto';
import type { RedisClient } from '../store/redis/client.js';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { CHANNEL_LIMITS, type RateLimit } from './limits.js';
import type { ExternalChannel } from './provider.js';

/** A go (release it when the attempt ends) or a wait, with nothing taken. */
export type Permit = { release(): void } | { waitMs: number };

/**
 * Holds the providers' limits (limits.ts): rates through shared buckets, across instances on
 * Redis (rate-limiter-flexible; memory backend: in process), so a burst is spread out instead
 * of answered with 429s; requests in flight per host on this instance, so one slow receiver
 * can't take every attempt of its channel. An attempt for a busy host waits here for a slot
 * (as many may wait as may run); past that it is put back for later.
 */
export interface Throttle {
  acquire(channel: ExternalChannel, address: string): Promise<Permit>;
}

export interface ThrottleOptions {
  /** shared buckets; null: this process only */
  redis: RedisClient | null;
  /** the limiter key prefix for a name (keys.ts limiterKey) */
  keyPrefix: (name: string) => string;
}

/** When an attempt comes back for a host that has its fill of requests running and waiting. */
const BUSY_HOST_WAIT_MS = 250;

export function createThrottle({ redis, keyPrefix }: ThrottleOptions): Throttle {
  const limiters = new Map<string, RateLimiterAbstract>();
  const limiter = (channel: ExternalChannel, r: RateLimit) => {
    const name = `${channel.toLowerCase()}-${r.scope}`;
    let l = limiters.get(name);
    if (!l) {
      // rate-limiter-flexible counts whole seconds; every provider rate is a whole number of them.
      const opts = { keyPrefix: keyPrefix(name), points: r.points, duration: Math.max(1, Math.round(r.durationMs / 1000)) };
      l = redis ? new RateLimiterRedis({ ...opts, storeClient: redis }) : new RateLimiterMemory(opts);
      limiters.set(name, l);
    }
    return l;
  };
  /** per host: requests in flight, and attempts waiting for one of them to end */
  const hosts = new Map<string, { running: number; waiting: (() => void)[] }>();
  const takeSlot = async (host: string, cap: number): Promise<boolean> => {
    let h = hosts.get(host);
    if (!h) hosts.set(host, (h = { running: 0, waiting: [] }));
    if (h.running < cap) {
      h.running++;
      return true;
    }
    if (h.waiting.length >= cap) return false;
    // The attempt that ends hands its slot straight over (release below).
    await new Promise<void>((resolve) => h.waiting.push(resolve));
    return true;
  };
  const freeSlot = (host: string) => {
    const h = hosts.get(host)!;
    const next = h.waiting.shift();
    if (next) return next();
    if (--h.running === 0) hosts.delete(host);
  };
  // Addresses can be secrets (a WeCom key): buckets are keyed by a digest.
  const digest = (s: string) => createHash('sha256').update(s).digest('base64url').slice(0, 22);
  const hostOf = (address: string) => {
    try {
      return new URL(address).host;
    } catch {
      return address;
    }
  };

  return {
    async acquire(channel, address) {
      const rates = CHANNEL_LIMITS[channel].rates;
      const cap = rates.find((r) => r.concurrency !== undefined)?.concurrency;
      const host = cap === undefined ? null : hostOf(address);
      if (host !== null && !(await takeSlot(host, cap!))) return { waitMs: BUSY_HOST_WAIT_MS };
      let released = false;
      const release = () => {
        if (released || host === null) return;
        released = true;
        freeSlot(host);
      };
      for (const r of rates) {
        if (r.points <= 0) continue;
        try {
          await limiter(channel, r).consume(r.scope === 'bot' ? 'bot' : digest(address));
        } catch (err) {
          release();
          if (err instanceof RateLimiterRes) return { waitMs: Math.max(1, err.msBeforeNext) };
          // The buckets' Redis is away: hold back rather than burst past the provider's limit.
          return { waitMs: 1000 };
        }
      }
      return { release };
    },
  };
}
