import type { Cluster, Redis } from 'ioredis';

/** A connection to one Redis node or to a Redis Cluster; the code above it is the same for both. */
export type RedisClient = Redis | Cluster;
