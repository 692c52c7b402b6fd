import { RedisPubSub } from 'graphql-redis-subscriptions';
import { PubSub, type PubSubEngine } from 'graphql-subscriptions';
import type { Cluster, Redis } from 'ioredis';
import { RoutingPubSub, ShardedPubSub } from './realtime/sharded-pubsub.js';
import { DEFAULT_PARTITIONS } from './store/redis/keys.js';
import { channels as channelNames, type Channels } from './realtime/channels.js';
import { createMemoryStore } from './store/memory/memory-store.js';
import { createRedisStore } from './store/redis/redis-store.js';
import type { Store } from './store/store.js';
import type { DeliveryStore } from './store/delivery-store.js';
import { createMemoryDeliveryStore } from './store/memory/memory-delivery-store.js';
import { createRedisDeliveryStore } from './store/redis/redis-delivery-store.js';

/** A store with the pub/sub bus its events travel on. */
export interface Backend {
  store: Store;
  /** the outbox of deliveries beyond the app, and users' channel addresses */
  deliveries: DeliveryStore;
  bus: PubSubEngine;
  channels: Channels;
  /** Where the cache keeps what every instance shares (L2): the command connection and key prefix. Absent on memory. */
  l2?: CacheL2;
}

export interface CacheL2 {
  redis: Redis | Cluster;
  prefix: string;
}

/** Embedded: state and events live in this process. */
export function memoryBackend({ cap }: { cap: number }): Backend {
  const bus = new PubSub();
  const ch = channelNames();
  const deliveries = createMemoryDeliveryStore();
  const store = createMemoryStore({ cap, channels: ch, publish: (channel, event) => void bus.publish(channel, event), outbox: deliveries });
  return { store, deliveries, bus, channels: ch };
}

export interface RedisBackendOptions {
  /** commands and PUBLISH: a single node or a Cluster, one code path above it */
  redis: Redis | Cluster;
  /**
   * A dedicated connection for SUBSCRIBE and SSUBSCRIBE (a subscribed connection can run nothing
   * else); a Cluster made with `shardedSubscribers: true`.
   */
  subscriber: Redis | Cluster;
  /**
   * A single node's connection for SSUBSCRIBE alone. Not shared with `subscriber`: RESP2 counts
   * shard channels apart, so the last UNSUBSCRIBE of a topic would take a shared connection out
   * of subscriber mode while shard channels still deliver. A Cluster's sharded subscribers are
   * their own connections already: absent there (then `subscriber` is used).
   */
  shardSubscriber?: Redis | null;
  /** a connection for the outbox's blocking stream reads; absent: the outbox polls */
  blocking?: Redis | null;
  cap: number;
  prefix?: string;
  /** partitions users are spread over (docs/redis-layout.md). @default 16 */
  partitions?: number;
  /** replicas each acknowledged write must reach before it answers (WAIT). @default 0 */
  waitReplicas?: number;
}

/**
 * Redis: the store's scripts publish events as they commit; RedisPubSub subscribes once per
 * channel per instance and fans out locally, so any instance reaches any client.
 * Both connections belong to the caller, who closes them.
 */
export function redisBackend({ redis, subscriber, shardSubscriber = null, blocking = null, cap, prefix = 'ntf:', partitions = DEFAULT_PARTITIONS, waitReplicas = 0 }: RedisBackendOptions): Backend {
  // RedisPubSub fires UNSUBSCRIBE without awaiting it: on a closed or broken connection that
  // promise would reject unhandled and end the process. Nothing else uses this connection.
  for (const m of ['unsubscribe', 'punsubscribe'] as const) {
    const original = subscriber[m].bind(subscriber) as (...a: unknown[]) => Promise<unknown>;
    (subscriber as unknown as Record<string, unknown>)[m] = (...args: unknown[]) => {
      const p = original(...args);
      p.catch(() => {});
      return p;
    };
  }
  const ch = channelNames(prefix, partitions);
  // Per-user and partition broadcast events on sharded channels; topics and the dashboard global.
  const global = new RedisPubSub({ publisher: redis as Redis, subscriber: subscriber as Redis });
  const bus = new RoutingPubSub(ch.sharded, new ShardedPubSub(redis, shardSubscriber ?? subscriber), global as unknown as ConstructorParameters<typeof RoutingPubSub>[2]);
  return {
    store: createRedisStore({ redis, cap, prefix, partitions, waitReplicas }),
    deliveries: createRedisDeliveryStore({ redis, blocking, prefix, partitions }),
    bus,
    channels: ch,
    l2: { redis, prefix },
  };
}
