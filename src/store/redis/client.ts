import type { Cluster, Redis } from 'ioredis';

/** A connection to one Redis node or to a Redis Cluster; the code above it is the same for both. */
export type RedisClient = Redis | Cluster;

/** The nodes that hold data: the one node, or a Cluster's masters (as the client knows them). */
export function mastersOf(redis: RedisClient): Redis[] {
  return redis.isCluster ? (redis as Cluster).nodes('master') : [redis as Redis];
}
