import { RedisPubSub } from 'graphql-redis-subscriptions';
import { PubSub, type PubSubEngine } from 'graphql-subscriptions';
import type { Redis } from 'ioredis';
import { channels as channelNames, type Channels } from './realtime/channels.js';
import { createMemoryStore } from './store/memory/memory-store.js';
import { DEFAULT_PREFIX } from './store/prefix.js';
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
  /**
   * Subscribers of a bus channel: on Redis, across instances (PUBSUB NUMSUB: one per instance
   * with local listeners); in memory, this process's listeners.
   */
  countSubscribers(channel: string): Promise<number>;
  /** Where the cache keeps what every instance shares (L2): the command connection and key prefix. Absent on memory. */
  l2?: CacheL2;
  /**
   * Tells `hooks` when the bus loses its connection (events published from then on may be lost)
   * and when its subscriptions are active again, so streams catch up. Absent on memory.
   */
  watchBus?: (hooks: { suspend(): void; resume(): void }) => void;
}

export interface CacheL2 {
  redis: Redis;
  prefix: string;
}

/** Embedded: state and events live in this process. */
export function memoryBackend({ cap, maxUsers, maxNotifications }: { cap: number; maxUsers?: number; maxNotifications?: number }): Backend {
  const bus = new PubSub();
  // One process: one partition, so a broadcast is one event.
  const ch = channelNames(DEFAULT_PREFIX, 1);
  const deliveries = createMemoryDeliveryStore();
  const store = createMemoryStore({ cap, maxUsers, maxNotifications, channels: ch, publish: (channel, event) => void bus.publish(channel, event), outbox: deliveries });
  // PubSub keeps its listeners on a protected EventEmitter `ee`; it has no public count.
  const ee = (bus as unknown as { ee: { listenerCount(name: string): number } }).ee;
  return { store, deliveries, bus, channels: ch, countSubscribers: async (channel) => ee.listenerCount(channel) };
}

export interface RedisBackendOptions {
  /** commands and PUBLISH */
  redis: Redis;
  /** a dedicated connection for SUBSCRIBE (a subscribed connection can run nothing else) */
  subscriber: Redis;
  /** a connection for the outbox's blocking stream reads; absent: the outbox polls */
  blocking?: Redis | null;
  cap: number;
  prefix?: string;
}

/**
 * Redis: the store's scripts publish events as they commit; RedisPubSub subscribes once per
 * channel per instance and fans out locally, so any instance reaches any client.
 * Both connections belong to the caller, who closes them.
 */
export function redisBackend({ redis, subscriber, blocking = null, cap, prefix = DEFAULT_PREFIX }: RedisBackendOptions): Backend {
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
  const bus = new RedisPubSub({ publisher: redis, subscriber });
  const channels = channelNames(prefix);
  return {
    store: createRedisStore({ redis, cap, prefix, channels }),
    deliveries: createRedisDeliveryStore({ redis, blocking, prefix }),
    bus,
    channels,
    async countSubscribers(channel) {
      const reply = (await redis.call('PUBSUB', 'NUMSUB', channel)) as (string | number)[];
      return Number(reply[1] ?? 0);
    },
    l2: { redis, prefix },
    watchBus(hooks) {
      let down = false;
      subscriber.on('close', () => {
        if (down) return;
        down = true;
        hooks.suspend();
      });
      // ioredis emits 'ready' before it resubscribes; a PING sent after that is answered once
      // the subscriptions are active again.
      subscriber.on('ready', () => {
        if (!down) return;
        setImmediate(() => {
          subscriber.ping().then(
            () => {
              if (!down || subscriber.status !== 'ready') return;
              down = false;
              hooks.resume();
            },
            () => {},
          );
        });
      });
    },
  };
}
