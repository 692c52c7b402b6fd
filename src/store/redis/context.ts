import type { ChainableCommander, Redis } from 'ioredis';
import type { StoreChannels } from '../events.js';
import { DEFAULT_PREFIX } from '../prefix.js';
import type { RedisClient } from './client.js';
import { keySpace, userScriptKeys, type KeySpace } from './keys.js';
import { defineScripts } from './scripts.js';

export interface RedisStoreOptions {
  /** A connection the caller owns; the store never closes it. */
  redis: RedisClient;
  /** Newest items kept per inbox. */
  cap: number;
  /** Key prefix, so tests and tenants can share a server. @default DEFAULT_PREFIX */
  prefix?: string;
  /** Where the scripts publish what they commit (realtime/channels.ts names them, with the same prefix). */
  channels: StoreChannels;
  /** Partitions users are spread over (partition.ts). @default channels.partitions */
  partitions?: number;
  /** Replicas every acknowledged write waits for (WAIT). @default 0 */
  waitReplicas?: number;
}

/** What the parts of the Redis store share: the connection, its keys, and the per-user script arguments. */
export interface RedisContext {
  redis: Redis;
  cap: number;
  prefix: string;
  keys: KeySpace;
  channels: StoreChannels;
  /** the KEYS every per-user script starts with (scripts.ts USER_KEYS) */
  userKeys(userId: string): ReturnType<typeof userScriptKeys>;
  /** the ARGV every per-user script starts with */
  userArgv(userId: string, now: number): { now: number; cap: number; userId: string; channel: string };
  /**
   * One command per item in one round trip, replies in item order (errors thrown). A single
   * item goes straight to the connection: building a pipeline costs ~50 µs, more than the
   * command, and one-item batches are the hot path (a subscription's user, a per-user send).
   */
  oneTrip<I>(items: readonly I[], add: (on: ChainableCommander, item: I) => unknown): Promise<unknown[]>;
}

export function redisContext({ redis: client, cap, prefix = DEFAULT_PREFIX, channels }: RedisStoreOptions): RedisContext {
  // Until the store is partitioned it runs on one node only.
  const redis = client as Redis;
  defineScripts(redis);
  const keys = keySpace(prefix);
  return {
    redis,
    cap,
    prefix,
    keys,
    channels,
    userKeys: (userId) => userScriptKeys(keys, userId),
    userArgv: (userId, now) => ({ now, cap, userId, channel: channels.user(userId) }),
    async oneTrip(items, add) {
      if (items.length === 0) return [];
      if (items.length === 1) return [await (add(redis as unknown as ChainableCommander, items[0]!) as Promise<unknown>)];
      const pipeline = redis.pipeline();
      for (const item of items) add(pipeline, item);
      return ((await pipeline.exec()) ?? []).map(([err, v]) => {
        if (err) throw err;
        return v;
      });
    },
  };
}
