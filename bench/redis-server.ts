/**
 * The Redis a benchmark runs against.
 *
 * By default a PRIVATE redis-server on a free loopback port (never 6379), persistence off, in a
 * temporary directory, killed when the bench ends (test/helpers/redis-server.ts, shared with the
 * test run). With BENCH_REDIS_URL set, that server is used
 * instead: then nothing is flushed, every key the bench writes lives under a run-unique prefix,
 * and those keys are deleted at the end (SCAN MATCH + UNLINK).
 *
 * With `--cluster` (index.ts), a PRIVATE Redis Cluster instead: 3 masters and 3 replicas on
 * loopback (test/helpers/redis-cluster.ts, the test run's), shut down when the bench ends. Its
 * clients are opened as the server opens its own (src/store/redis/connect.ts): the command
 * connection auto-pipelines per node, the shard subscriber holds one connection per shard.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { mastersOf, type RedisClient } from '../src/store/redis/client.js';
import { connectRedis, type ConnectionRole } from '../src/store/redis/connect.js';
import { startRedisCluster } from '../test/helpers/redis-cluster.js';
import { assertRedisInstalled, startRedisServer } from '../test/helpers/redis-server.js';

export interface BenchRedis {
  kind: 'single' | 'cluster';
  /** redis://… of the one node, or the cluster's seeds "127.0.0.1:port,…" */
  url: string;
  /** What a server process is given to reach it: REDIS_URL, or REDIS_CLUSTER_NODES. */
  serverEnv: Record<string, string>;
  /** true: our own redis-server(s), nobody else's keys, killed by stop(). */
  isPrivate: boolean;
  /** Run-unique key prefix ("b1a2b3c4:"); scenarios put every key they write under it. */
  prefix: string;
  /**
   * A new client, ready; stop() closes every client made here. `role` matters on a cluster
   * only (the shard subscriber needs ioredis's sharded subscribers). @default 'commands'
   */
  connect(role?: ConnectionRole): Promise<RedisClient>;
  /** Closes the clients, deletes the run's keys on a shared server, kills a private server. */
  stop(): Promise<void>;
}

/** Escapes Redis glob metacharacters so a prefix matches literally in SCAN MATCH. */
function escapeGlob(s: string): string {
  return s.replace(/[\\*?[\]^]/g, (c) => `\\${c}`);
}

/** Deletes every key starting with `prefix` (SCAN + UNLINK; never KEYS, never FLUSHALL). */
export async function deleteByPrefix(redis: Redis, prefix: string): Promise<number> {
  if (prefix === '') throw new Error('deleteByPrefix: refusing an empty prefix');
  let cursor = '0';
  let removed = 0;
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${escapeGlob(prefix)}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) removed += await redis.unlink(...keys);
  } while (cursor !== '0');
  return removed;
}

/**
 * Waits (at most `timeoutMs`) until every replica of `node` has what it wrote: until then, what
 * a replica has not read yet sits in the master's replication buffer, counted in its used_memory.
 */
async function replicasCaughtUp(node: Redis, timeoutMs = 2000): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const info = String(await node.info('replication'));
    const offset = /^master_repl_offset:(\d+)/m.exec(info)?.[1];
    const replicas = [...info.matchAll(/^slave\d+:.*offset=(\d+)/gm)].map((m) => m[1]);
    if (replicas.every((o) => o === offset) || Date.now() > end) return;
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * `used_memory` from INFO memory, in bytes: of the one node, or summed over a cluster's masters,
 * each read once its replicas caught up (see {@link replicasCaughtUp}).
 */
export async function usedMemory(redis: RedisClient): Promise<number> {
  const each = await Promise.all(
    mastersOf(redis).map(async (node) => {
      if (redis.isCluster) await replicasCaughtUp(node);
      const info = String(await node.info('memory'));
      const m = /^used_memory:(\d+)\s*$/m.exec(info);
      if (!m) throw new Error('INFO memory has no used_memory line');
      return Number(m[1]);
    }),
  );
  return each.reduce((a, b) => a + b, 0);
}

/** `read` of one INFO section, of the one node or summed over a cluster's masters. */
async function sumOverMasters(redis: RedisClient, section: string, read: (info: string) => number): Promise<number> {
  let sum = 0;
  for (const node of mastersOf(redis)) sum += read(String(await node.info(section)));
  return sum;
}

/** Redis's CPU time so far, from INFO cpu (user + sys). */
export function redisCpuMs(redis: RedisClient): Promise<number> {
  return sumOverMasters(redis, 'cpu', (info) => {
    const field = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1]);
    return (field('used_cpu_user') + field('used_cpu_sys')) * 1000;
  });
}

/**
 * Reads Redis has made from its clients' sockets so far (INFO stats `total_reads_processed`):
 * commands that arrive together cost one read, and one reply write, between them.
 */
export function redisReads(redis: RedisClient): Promise<number> {
  return sumOverMasters(redis, 'stats', (info) => Number(/^total_reads_processed:(\d+)/m.exec(info)?.[1]));
}

/**
 * Calls of every command so far (INFO commandstats). A reading's own INFO (one per master)
 * shows in the next one.
 */
export function commandCalls(redis: RedisClient): Promise<number> {
  return sumOverMasters(redis, 'commandstats', (info) => {
    let n = 0;
    for (const m of info.matchAll(/^cmdstat_[^:]+:calls=(\d+)/gm)) n += Number(m[1]);
    return n;
  });
}

/** Resolves once `client` is ready (a cluster has read its slot map). */
function ready(client: RedisClient): Promise<void> {
  if (client.status === 'ready') return Promise.resolve();
  return new Promise((resolve, reject) => {
    client.once('ready', resolve);
    client.once('end', () => reject(new Error('redis connection ended before it was ready')));
  });
}

/**
 * The bench's Redis: with `cluster`, a private Redis Cluster (3 masters, 3 replicas); otherwise
 * a private redis-server, or BENCH_REDIS_URL when set. Call stop() when done (index.ts does).
 */
export async function openBenchRedis({ cluster = false } = {}): Promise<BenchRedis> {
  return cluster ? openBenchCluster() : openBenchSingle();
}

/** Kills what `kill` names on exit, Ctrl-C or SIGTERM; the function returned stops watching. */
function killOnExit(kill: () => void): () => void {
  const onSignal = (signal: NodeJS.Signals) => {
    kill();
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  process.once('exit', kill);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  return () => {
    process.off('exit', kill);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
}

async function openBenchCluster(): Promise<BenchRedis> {
  if (process.env.BENCH_REDIS_URL?.trim()) throw new Error('--cluster starts a private Redis Cluster: unset BENCH_REDIS_URL');
  assertRedisInstalled('install it (apt-get install redis-server)');
  const running = await startRedisCluster();
  // Never leave a node behind, even on Ctrl-C or an uncaught error.
  const unwatch = killOnExit(() => running.children.forEach((c) => c.kill('SIGKILL')));
  const target = { kind: 'cluster' as const, nodes: running.ports.map((port) => ({ host: '127.0.0.1', port })) };
  const clients: RedisClient[] = [];
  let stopped = false;
  return {
    kind: 'cluster',
    url: running.seeds,
    serverEnv: { REDIS_CLUSTER_NODES: running.seeds },
    isPrivate: true,
    prefix: `b${randomBytes(4).toString('hex')}:`,
    async connect(role = 'commands') {
      const client = connectRedis(target, { role, name: `bench-${role}` });
      client.on('error', (err: Error) => console.error(`bench redis cluster (${role}): ${err.message}`));
      clients.push(client);
      await ready(client);
      return client;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await Promise.all(clients.map((c) => c.quit().catch(() => c.disconnect())));
      await running.stop();
      unwatch();
    },
  };
}

async function openBenchSingle(): Promise<BenchRedis> {
  const external = process.env.BENCH_REDIS_URL?.trim() || null;
  if (!external) assertRedisInstalled('install it (apt-get install redis-server) or set BENCH_REDIS_URL');
  const running = external ? null : await startRedisServer();
  const url = external ?? running!.url;

  // Never leave a redis-server behind, even on Ctrl-C or an uncaught error.
  const unwatch = running ? killOnExit(() => running.child.kill('SIGKILL')) : () => {};

  const prefix = `b${randomBytes(4).toString('hex')}:`;
  const clients: Redis[] = [];
  let stopped = false;

  return {
    kind: 'single',
    url,
    serverEnv: { REDIS_URL: url },
    isPrivate: running !== null,
    prefix,
    async connect() {
      const redis = new Redis(url, { maxRetriesPerRequest: 1, connectTimeout: 5_000, lazyConnect: true });
      clients.push(redis);
      await redis.connect();
      return redis;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      if (!running && clients[0]?.status === 'ready') {
        await deleteByPrefix(clients[0], prefix).catch((err) => console.error(`could not delete ${prefix}* keys: ${String(err)}`));
      }
      await Promise.all(clients.map((c) => c.quit().catch(() => c.disconnect())));
      if (running) {
        await running.stop();
        unwatch();
      }
    },
  };
}
