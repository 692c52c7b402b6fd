import { RedisPubSub } from 'graphql-redis-subscriptions';
import { PubSub, type PubSubEngine } from 'graphql-subscriptions';
import { Cluster, Redis } from 'ioredis';
import { watchSubscribers } from './realtime/bus-watch.js';
import { RoutingPubSub, ShardedPubSub } from './realtime/sharded-pubsub.js';
import { DEFAULT_PARTITIONS } from './store/partition.js';
import type { RedisClient } from './store/redis/client.js';
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
   * Subscribers of a bus channel: on Redis, across instances (PUBSUB NUMSUB or SHARDNUMSUB: one
   * per instance with local listeners); in memory, this process's listeners.
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
  redis: RedisClient;
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
  /** commands, PUBLISH and SPUBLISH: one node or a Cluster, the same code above it */
  redis: RedisClient;
  /** a dedicated connection for SUBSCRIBE of the global channels (a subscribed connection can run nothing else) */
  subscriber: RedisClient;
  /**
   * A dedicated connection for SSUBSCRIBE of the sharded channels: on a Cluster a client made
   * with `shardedSubscribers` (one connection per shard). Not `subscriber`: with RESP2 a node
   * counts shard channels apart, so the last UNSUBSCRIBE of a topic would take a shared
   * connection out of subscriber mode while shard channels still deliver.
   */
  shardSubscriber: RedisClient;
  /** a single node's connection for the outbox's blocking stream reads; absent: the outbox polls */
  blocking?: Redis | null;
  cap: number;
  prefix?: string;
  /** partitions users are spread over (REDIS_PARTITIONS). @default DEFAULT_PARTITIONS */
  partitions?: number;
  /** replicas every acknowledged write waits for (REDIS_WAIT_REPLICAS). @default 0 */
  waitReplicas?: number;
}

/**
 * Redis: the store's scripts publish events as they commit, per-user and broadcast events on
 * sharded channels (an instance hears only the partitions of the users it serves), topic and
 * dashboard events on global ones. Each bus subscribes once per channel per instance and fans
 * out locally, so any instance reaches any client. The connections belong to the caller, who
 * closes them.
 */
export function redisBackend({ redis, subscriber, shardSubscriber, blocking = null, cap, prefix = DEFAULT_PREFIX, partitions = DEFAULT_PARTITIONS, waitReplicas = 0 }: RedisBackendOptions): Backend {
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
  const channels = channelNames(prefix, partitions);
  // graphql-redis-subscriptions types its connections as single-node clients; a Cluster has the same calls.
  const global = new RedisPubSub({ publisher: redis as Redis, subscriber: subscriber as Redis });
  // When SUBSCRIBE fails (its connection closed mid-way: shutdown, a Cluster moving its subscriber
  // off a dead node), RedisPubSub also rejects an internal promise nobody awaits, an unhandled
  // rejection that would end the process. The caller still gets the failure.
  const subscribeGlobal = global.subscribe.bind(global);
  global.subscribe = (trigger, onMessage, options) => {
    const sub = subscribeGlobal(trigger, onMessage, options);
    (global as unknown as { subsPendingRefsMap: Map<string, { pending: { promise: Promise<unknown> } }> }).subsPendingRefsMap.get(trigger)?.pending.promise.catch(() => {});
    return sub;
  };
  const bus = new RoutingPubSub(channels.isSharded, new ShardedPubSub(redis, shardSubscriber), global as unknown as ConstructorParameters<typeof RoutingPubSub>[2]);
  return {
    store: createRedisStore({ redis, cap, prefix, channels, waitReplicas }),
    deliveries: createRedisDeliveryStore({ redis, blocking, prefix, partitions, waitReplicas }),
    bus,
    channels,
    countSubscribers: (channel) => countSubscribers(redis, channel, channels.isSharded(channel)),
    l2: { redis, prefix },
    watchBus: (hooks) => watchSubscribers([subscriber, shardSubscriber], hooks),
  };
}

/**
 * Instances subscribed to a channel (each subscribes once). A sharded channel's subscribers are
 * on the master owning its slot (PUBSUB SHARDNUMSUB there). A global channel's may be on any
 * node of a Cluster, replicas included (ioredis picks its SUBSCRIBE node among the seeds before
 * it knows the roles), and PUBSUB NUMSUB is per node: summed over every node CLUSTER SLOTS names.
 */
export async function countSubscribers(redis: RedisClient, channel: string, sharded: boolean): Promise<number> {
  const count = async (node: Redis) => Number(((await node.call('PUBSUB', sharded ? 'SHARDNUMSUB' : 'NUMSUB', channel)) as (string | number)[])[1] ?? 0);
  if (!(redis instanceof Cluster)) return count(redis);
  if (!sharded) return (await Promise.all((await everyNode(redis)).map(count))).reduce((a, b) => a + b, 0);
  const slot = Number(await redis.cluster('KEYSLOT', channel));
  const owner = redis.slots[slot]?.[0];
  const node = redis.nodes('master').find((n) => `${n.options.host}:${n.options.port}` === owner);
  if (!node) throw new Error(`no master known for slot ${slot} of ${channel}`);
  return count(node);
}

/** Connections to the replicas a Cluster client does not keep (it talks to masters), per client; closed with it. */
const replicaConnections = new WeakMap<Cluster, Map<string, Redis>>();

/** A connection to every node serving slots, masters and replicas. */
async function everyNode(cluster: Cluster): Promise<Redis[]> {
  const own = new Map(cluster.nodes('all').map((n) => [`${n.options.host}:${n.options.port}`, n]));
  let extra = replicaConnections.get(cluster);
  if (!extra) {
    const made = new Map<string, Redis>();
    replicaConnections.set(cluster, (extra = made));
    cluster.once('end', () => {
      for (const r of made.values()) r.disconnect();
      made.clear();
    });
  }
  const ranges = (await cluster.cluster('SLOTS')) as [number, number, ...[string, number, ...unknown[]][]][];
  const out = new Map<string, Redis>();
  for (const [, , ...nodes] of ranges) {
    for (const [host, port] of nodes) {
      const addr = `${host}:${port}`;
      if (out.has(addr)) continue;
      let conn = own.get(addr) ?? extra.get(addr);
      if (!conn) {
        conn = new Redis({ ...cluster.options.redisOptions, host, port, connectionName: 'notifications:count' });
        conn.on('error', () => {});
        extra.set(addr, conn);
      }
      out.set(addr, conn);
    }
  }
  return [...out.values()];
}
