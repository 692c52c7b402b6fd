import { RedisPubSub } from 'graphql-redis-subscriptions';
import { PubSub, type PubSubEngine } from 'graphql-subscriptions';
import type { Redis } from 'ioredis';
import { channels as channelNames, type Channels } from './realtime/channels.js';
import { createMemoryStore } from './store/memory/memory-store.js';
import { createRedisStore } from './store/redis/redis-store.js';
import type { Store } from './store/store.js';

/** A store with the pub/sub bus its events travel on. */
export interface Backend {
  store: Store;
  bus: PubSubEngine;
  channels: Channels;
}

/** Embedded: state and events live in this process. */
export function memoryBackend({ cap }: { cap: number }): Backend {
  const bus = new PubSub();
  const ch = channelNames();
  const store = createMemoryStore({ cap, channels: ch, publish: (channel, event) => void bus.publish(channel, event) });
  return { store, bus, channels: ch };
}

export interface RedisBackendOptions {
  /** commands and PUBLISH */
  redis: Redis;
  /** a dedicated connection for SUBSCRIBE (a subscribed connection can run nothing else) */
  subscriber: Redis;
  cap: number;
  prefix?: string;
}

/**
 * Redis: the store's scripts publish events as they commit; RedisPubSub subscribes once per
 * channel per instance and fans out locally, so any instance reaches any client.
 * Both connections belong to the caller, who closes them.
 */
export function redisBackend({ redis, subscriber, cap, prefix = 'ntf:' }: RedisBackendOptions): Backend {
  const bus = new RedisPubSub({ publisher: redis, subscriber });
  return {
    store: createRedisStore({ redis, cap, prefix }),
    bus,
    channels: channelNames(prefix),
  };
}
