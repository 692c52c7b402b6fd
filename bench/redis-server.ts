/**
 * The Redis a benchmark runs against.
 *
 * By default a PRIVATE redis-server on a free loopback port (never 6379), persistence off, in a
 * temporary directory, killed when the bench ends (test/helpers/redis-server.ts, shared with the
 * test run). With BENCH_REDIS_URL set, that server is used
 * instead: then nothing is flushed, every key the bench writes lives under a run-unique prefix,
 * and those keys are deleted at the end (SCAN MATCH + UNLINK).
 */
import { randomBytes } from 'node:crypto';
import { Redis, type RedisOptions } from 'ioredis';
import { assertRedisInstalled, startRedisServer } from '../test/helpers/redis-server.js';


export interface BenchRedis {
  url: string;
  /** true: our own redis-server, nobody else's keys, killed by stop(). */
  isPrivate: boolean;
  /** Run-unique key prefix ("b1a2b3c4:"); scenarios put every key they write under it. */
  prefix: string;
  /** A new client; stop() closes every client made here. */
  connect(options?: RedisOptions): Promise<Redis>;
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

/** `used_memory` from INFO memory, in bytes. */
export async function usedMemory(redis: Redis): Promise<number> {
  const info = String(await redis.info('memory'));
  const m = /^used_memory:(\d+)\s*$/m.exec(info);
  if (!m) throw new Error('INFO memory has no used_memory line');
  return Number(m[1]);
}

/** A private redis-server, or BENCH_REDIS_URL when set. Call stop() when done (index.ts does). */
export async function openBenchRedis(): Promise<BenchRedis> {
  const external = process.env.BENCH_REDIS_URL?.trim() || null;
  if (!external) assertRedisInstalled('install it (apt-get install redis-server) or set BENCH_REDIS_URL');
  const running = external ? null : await startRedisServer();
  const url = external ?? running!.url;

  // Never leave a redis-server behind, even on Ctrl-C or an uncaught error.
  const kill = () => running?.child.kill('SIGKILL');
  const onSignal = (signal: NodeJS.Signals) => {
    kill();
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  if (running) {
    process.once('exit', kill);
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  }

  const prefix = `b${randomBytes(4).toString('hex')}:`;
  const clients: Redis[] = [];
  let stopped = false;

  return {
    url,
    isPrivate: running !== null,
    prefix,
    async connect(options = {}) {
      const redis = new Redis(url, { maxRetriesPerRequest: 1, connectTimeout: 5_000, lazyConnect: true, ...options });
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
        process.off('exit', kill);
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
    },
  };
}
