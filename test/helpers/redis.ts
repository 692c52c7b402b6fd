/**
 * The ONLY place tests connect to Redis. The server is the private one from
 * test/global-setup.ts; each test isolates its keys under {@link uniquePrefix}
 * and removes them with {@link deleteByPrefix} (never FLUSHALL: files run in parallel).
 */
import { randomBytes } from 'node:crypto';
import { Cluster, Redis } from 'ioredis';
import { afterAll, inject } from 'vitest';

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

/** A client for the current test file, closed in `afterAll`. Call at file or describe level. */
export function withRedis(): Redis {
  const redis = newRedis();
  afterAll(async () => {
    await redis.quit().catch(() => redis.disconnect());
  });
  return redis;
}

/** A fresh key prefix such as `t3f9a0c1d2e4b:`, so parallel tests never see each other's keys. */
export function uniquePrefix(): string {
  return `t${randomBytes(6).toString('hex')}:`;
}

/** Escapes Redis glob metacharacters so a prefix matches literally in SCAN MATCH. */
function escapeGlob(s: string): string {
  return s.replace(/[\\*?[\]^]/g, (c) => `\\${c}`);
}

/**
 * Deletes every key starting with `prefix` (SCAN MATCH + UNLINK, never KEYS or FLUSHALL).
 * @returns how many keys were removed.
 */
export async function deleteByPrefix(redis: Redis, prefix: string): Promise<number> {
  if (prefix === '') throw new Error('deleteByPrefix: refusing an empty prefix');
  const match = `${escapeGlob(prefix)}*`;
  let cursor = '0';
  let removed = 0;
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', match, 'COUNT', 500);
    cursor = next;
    if (keys.length > 0) removed += await redis.unlink(...keys);
  } while (cursor !== '0');
  return removed;
}

/** Seeds of the private test Redis Cluster. */
export function redisClusterNodes(): { host: string; port: number }[] {
  const seeds = inject('redisClusterNodes') ?? process.env.TEST_REDIS_CLUSTER_NODES;
  if (!seeds) throw new Error('no test Redis Cluster: run through vitest so test/global-setup.ts starts one');
  return seeds.split(',').map((s) => {
    const [host, port] = s.split(':');
    return { host: host!, port: Number(port) };
  });
}

/** A new client of the test cluster (as main.ts makes them); the caller closes it. */
export function newCluster(opts: { sharded?: boolean; autoPipelining?: boolean } = {}): Cluster {
  return new Cluster(redisClusterNodes(), {
    redisOptions: { maxRetriesPerRequest: 1, connectTimeout: 2_000 },
    enableAutoPipelining: opts.autoPipelining ?? true,
    shardedSubscribers: opts.sharded ?? false,
  });
}

/** A cluster client for the current test file, closed in `afterAll`. */
export function withCluster(): Cluster {
  const cluster = newCluster();
  afterAll(async () => {
    await cluster.quit().catch(() => cluster.disconnect());
  });
  return cluster;
}

/** Every key starting with `prefix` on every master of the cluster. */
export async function clusterKeys(cluster: Cluster, prefix: string): Promise<string[]> {
  const out: string[] = [];
  for (const node of cluster.nodes('master')) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', `${escapeGlob(prefix)}*`, 'COUNT', 500);
      cursor = next;
      out.push(...keys);
    } while (cursor !== '0');
  }
  return out;
}

/** {@link deleteByPrefix} on a cluster (each key on its own: they sit in many slots). */
export async function deleteByPrefixOnCluster(cluster: Cluster, prefix: string): Promise<number> {
  if (prefix === '') throw new Error('deleteByPrefixOnCluster: refusing an empty prefix');
  const keys = await clusterKeys(cluster, prefix);
  await Promise.all(keys.map((k) => cluster.unlink(k)));
  return keys.length;
}
