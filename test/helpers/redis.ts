/**
 * The ONLY place tests connect to Redis. The server is the private one from
 * test/global-setup.ts; each test isolates its keys under {@link uniquePrefix}
 * and removes them with {@link deleteByPrefix} (never FLUSHALL: files run in parallel).
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
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
