import { Cluster, Redis } from 'ioredis';
import { LAYOUT_VERSION, keySpace } from './keys.js';

/** Where Redis is: one node (REDIS_URL) or a Cluster's seeds (REDIS_CLUSTER_NODES). */
export type RedisTarget = { kind: 'single'; url: string } | { kind: 'cluster'; nodes: { host: string; port: number }[] };

export function redisTarget(c: { redisUrl: string | null; redisClusterNodes: { host: string; port: number }[] | null }): RedisTarget | null {
  if (c.redisUrl) return { kind: 'single', url: c.redisUrl };
  if (c.redisClusterNodes) return { kind: 'cluster', nodes: c.redisClusterNodes };
  return null;
}

export interface ConnectOptions {
  /** shows in CLIENT LIST */
  name: string;
  /** retries of a command while its node is away (then it fails). @default 3 */
  maxRetriesPerRequest?: number;
  /** a Cluster connection used for SSUBSCRIBE: one sharded subscriber per shard */
  sharded?: boolean;
}

/**
 * One connection (a Cluster client is a set of them) to the target. Above this, the code is the
 * same for both: the stores take `Redis | Cluster`. On a Cluster, commands are auto-pipelined
 * per node, so a batch over many users costs one round trip per shard.
 */
export function connectRedis(target: RedisTarget, { name, maxRetriesPerRequest = 3, sharded = false }: ConnectOptions): Redis | Cluster {
  const redisOptions = { maxRetriesPerRequest, connectionName: `notifications:${name}` };
  if (target.kind === 'single') return new Redis(target.url, redisOptions);
  return new Cluster(target.nodes, { redisOptions, enableAutoPipelining: true, shardedSubscribers: sharded });
}

export class LayoutMismatchError extends Error {}

/**
 * Stamps the key layout (version and partition count) on an empty data set, or checks the stamp:
 * a server must not run on keys laid out differently. Upgrading across layouts means starting on
 * a fresh Redis (or another REDIS_KEY_PREFIX): docs/redis-layout.md.
 */
export async function checkLayout(redis: Redis | Cluster, prefix: string, partitions: number): Promise<void> {
  const key = keySpace(prefix, partitions).global.layout;
  const want = `${LAYOUT_VERSION}:${partitions}`;
  await redis.set(key, want, 'NX');
  const have = await redis.get(key);
  if (have !== want) {
    const [v, p] = String(have).split(':');
    throw new LayoutMismatchError(
      `Redis holds key layout version ${v} with ${p} partitions under prefix ${JSON.stringify(prefix)}; this server uses version ${LAYOUT_VERSION} with ${partitions} partitions (REDIS_PARTITIONS). ` +
        'Start it on a fresh Redis or another REDIS_KEY_PREFIX (docs/redis-layout.md, Layout version).',
    );
  }
}
