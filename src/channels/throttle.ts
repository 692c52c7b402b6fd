import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { ExternalChannel } from './provider.js';

/**
 * The providers' own rate limits, held across instances through Redis (memory backend: in
 * process), so a burst is spread out instead of answered with 429s. docs/channels.md cites them.
 */
export const PROVIDER_RATES: Partial<Record<ExternalChannel, { name: string; scope: 'address' | 'channel'; points: number; seconds: number }[]>> = {
  // Telegram Bot API FAQ: about 1 message per second per chat, 30 per second per bot.
  TELEGRAM: [
    { name: 'telegram-chat', scope: 'address', points: 1, seconds: 1 },
    { name: 'telegram-bot', scope: 'channel', points: 30, seconds: 1 },
  ],
  // WeCom group robot: 20 messages a minute per robot.
  WECOM: [{ name: 'wecom-robot', scope: 'address', points: 20, seconds: 60 }],
};

export interface Throttle {
  /** 0: go now (a slot is taken); else how many ms until a slot frees (nothing taken). */
  wait(channel: ExternalChannel, address: string): Promise<number>;
}

export interface ThrottleOptions {
  /** shared buckets; null: this process only */
  redis: Redis | null;
  /** the limiter key prefix for a name (keys.ts outboxKeys().limiter) */
  keyPrefix: (name: string) => string;
}

export function createThrottle({ redis, keyPrefix }: ThrottleOptions): Throttle {
  const limiters = new Map<string, RateLimiterAbstract>();
  const limiter = (name: string, points: number, duration: number) => {
    let l = limiters.get(name);
    if (!l) {
      const opts = { keyPrefix: keyPrefix(name), points, duration };
      l = redis ? new RateLimiterRedis({ ...opts, storeClient: redis, useRedisPackage: false }) : new RateLimiterMemory(opts);
      limiters.set(name, l);
    }
    return l;
  };
  // Addresses can be secrets (a WeCom key): buckets are keyed by a digest.
  const digest = (s: string) => createHash('sha256').update(s).digest('base64url').slice(0, 22);
  return {
    async wait(channel, address) {
      for (const rate of PROVIDER_RATES[channel] ?? []) {
        try {
          await limiter(rate.name, rate.points, rate.seconds).consume(rate.scope === 'address' ? digest(address) : 'all');
        } catch (err) {
          if (err instanceof RateLimiterRes) return Math.max(1, err.msBeforeNext);
          // The limiter's Redis is away: hold back rather than burst past the provider's limit.
          return 1000;
        }
      }
      return 0;
    },
  };
}
