/**
 * The ONLY place tests connect to Redis. The servers are the private ones from
 * test/global-setup.ts: a single node and a cluster (3 masters, 3 replicas). Each test isolates
 * its keys under {@link uniquePrefix} and removes them with {@link deleteByPrefix} (never
 * FLUSHALL: files run in parallel).
 */
import { randomBytes } from 'node:crypto';
import { Cluster, Redis } from 'ioredis';
import { afterAll, inject } from 'vitest';
import { clusterControl, type ClusterControl } from './redis-cluster.js';

/** URL of the private test Redis. */
export function redisUrl(): string {
  const url = inject('redisUrl') ?? process.env.TEST_REDIS_URL;
  if (!url) throw new Error('no test Redis: run through vitest so test/global-setup.ts starts one');
  return url;
}

/** A new client of the test Redis; the caller closes it (`await redis.quit()`), or use {@link withRedis}. */
export function newRedis(): Redis {
  return new Redis(redisUrl(), {
    // Fail a test fast instead of queueing commands while the server is gone.
    maxRetriesPerRequest: 1,
    connectTimeout: 2_000,
  });
}

/** `client`, closed in `afterAll` of the current file or describe block. */
function closedAfterAll<C extends Redis | Cluster>(client: C): C {
  afterAll(async () => {
    await client.quit().catch(() => client.disconnect());
  });
  return client;
}

/** A client for the current test file, closed in `afterAll`. Call at file or describe level. */
export const withRedis = (): Redis => closedAfterAll(newRedis());

/** A fresh key prefix such as `t3f9a0c1d2e4b:`, so parallel tests never see each other's keys. */
export function uniquePrefix(): string {
  return `t${randomBytes(6).toString('hex')}:`;
}

/** Escapes Redis glob metacharacters so a prefix matches literally in SCAN MATCH. */
function escapeGlob(s: string): string {
  return s.replace(/[\\*?[\]^]/g, (c) => `\\${c}`);
}

/** Every key of one node starting with `prefix` (SCAN MATCH, never KEYS). */
async function scanKeys(node: Redis, prefix: string): Promise<string[]> {
  const match = `${escapeGlob(prefix)}*`;
  const out: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await node.scan(cursor, 'MATCH', match, 'COUNT', 500);
    cursor = next;
    out.push(...keys);
  } while (cursor !== '0');
  return out;
}

/** Every key starting with `prefix`: on a single node, or on each master of a cluster. */
export async function keysByPrefix(redis: Redis | Cluster, prefix: string): Promise<string[]> {
  if (redis instanceof Cluster) return (await Promise.all(redis.nodes('master').map((n) => scanKeys(n, prefix)))).flat();
  return scanKeys(redis, prefix);
}

/**
 * Deletes every key starting with `prefix` (SCAN MATCH + UNLINK, never KEYS or FLUSHALL), on a
 * single node or on each master of a cluster.
 * @returns how many keys were removed.
 */
export async function deleteByPrefix(redis: Redis | Cluster, prefix: string): Promise<number> {
  if (prefix === '') throw new Error('deleteByPrefix: refusing an empty prefix');
  const nodes = redis instanceof Cluster ? redis.nodes('master') : [redis];
  let removed = 0;
  for (const node of nodes) {
    const keys = await scanKeys(node, prefix);
    if (keys.length === 0) continue;
    // One UNLINK per key: a cluster node refuses a multi-key command over several slots.
    const pipe = node.pipeline();
    for (const k of keys) pipe.unlink(k);
    for (const [err, n] of (await pipe.exec()) ?? []) {
      if (err) throw err;
      removed += Number(n);
    }
  }
  return removed;
}

/** Seeds of the private test Redis Cluster, "127.0.0.1:port,…" (the REDIS_CLUSTER_NODES form). */
export function redisClusterSeeds(): string {
  const seeds = inject('redisClusterNodes') ?? process.env.TEST_REDIS_CLUSTER_NODES;
  if (!seeds) throw new Error('no test Redis Cluster: run through vitest so test/global-setup.ts starts one');
  return seeds;
}

/** The seeds as ioredis's Cluster takes them. */
export function redisClusterNodes(): { host: string; port: number }[] {
  return redisClusterSeeds()
    .split(',')
    .map((s) => {
      const [host, port] = s.split(':');
      return { host: host!, port: Number(port) };
    });
}

/** The cluster nodes' directory: a killed node restarts from its config there. */
function redisClusterDir(): string {
  const dir = inject('redisClusterDir') ?? process.env.TEST_REDIS_CLUSTER_DIR;
  if (!dir) throw new Error('no test Redis Cluster: run through vitest so test/global-setup.ts starts one');
  return dir;
}

/**
 * A new client of the test cluster; the caller closes it, or use {@link withCluster}.
 * `sharded`: one subscriber connection per shard for SSUBSCRIBE (as the server's shard subscriber).
 */
export function newCluster(opts: { sharded?: boolean } = {}): Cluster {
  return new Cluster(redisClusterNodes(), {
    redisOptions: { maxRetriesPerRequest: 1, connectTimeout: 2_000 },
    enableAutoPipelining: !opts.sharded,
    shardedSubscribers: opts.sharded ?? false,
  });
}

/** A cluster client for the current test file, closed in `afterAll`. Call at file or describe level. */
export const withCluster = (): Cluster => closedAfterAll(newCluster());

/**
 * The shared test cluster's nodes: which are masters, SIGKILL one, start it again. Other test
 * files use this cluster at the same time: a test that takes a node down should rather start a
 * cluster of its own (startRedisCluster in test/helpers/redis-cluster.ts, same controls).
 */
export function testClusterNodes(): ClusterControl {
  return clusterControl(redisClusterNodes().map((n) => n.port), redisClusterDir());
}
