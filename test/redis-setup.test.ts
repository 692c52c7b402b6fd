import { describe, expect, inject, it } from 'vitest';
import { deleteByPrefix, newRedis, redisUrl, uniquePrefix, withRedis } from './helpers/redis.js';

const redis = withRedis();

describe('private test Redis', () => {
  it('is provided by globalSetup, on loopback, not on 6379', () => {
    const url = new URL(redisUrl());
    expect(url.protocol).toBe('redis:');
    expect(url.hostname).toBe('127.0.0.1');
    expect(Number(url.port)).toBeGreaterThan(0);
    expect(url.port).not.toBe('6379');
    expect(inject('redisUrl')).toBe(redisUrl());
  });

  it('answers PING', async () => {
    expect(await redis.ping()).toBe('PONG');
  });

  it('is the server on the provided port with persistence off', async () => {
    const info = await redis.info('server');
    expect(info).toContain(`tcp_port:${new URL(redisUrl()).port}`);
    const save = (await redis.config('GET', 'save')) as unknown;
    // RESP3 (ioredis 6 default) returns a map; RESP2 a flat array.
    const saveValue = Array.isArray(save) ? save[1] : (save as Record<string, string>)['save'];
    expect(saveValue).toBe('');
  });

  it('gives unique prefixes', () => {
    const a = uniquePrefix();
    expect(a).toMatch(/^t[0-9a-f]{12}:$/);
    expect(uniquePrefix()).not.toBe(a);
  });

  it('deleteByPrefix removes exactly the prefixed keys', async () => {
    const mine = uniquePrefix();
    const other = uniquePrefix();
    const pipe = redis.pipeline();
    for (let i = 0; i < 1200; i++) pipe.set(`${mine}k${i}`, '1'); // > one SCAN page
    pipe.sadd(`${mine}{u:1}:set`, 'x');
    pipe.set(`${other}keep`, '1');
    await pipe.exec();

    expect(await deleteByPrefix(redis, mine)).toBe(1201);
    expect(await redis.exists(`${mine}k0`, `${mine}k1199`, `${mine}{u:1}:set`)).toBe(0);
    expect(await redis.get(`${other}keep`)).toBe('1');
    expect(await deleteByPrefix(redis, other)).toBe(1);
  });

  it('deleteByPrefix matches glob characters literally', async () => {
    const p = uniquePrefix();
    await redis.set(`${p}a*b`, '1');
    await redis.set(`${p}aXb`, '1');
    expect(await deleteByPrefix(redis, `${p}a*`)).toBe(1);
    expect(await redis.get(`${p}aXb`)).toBe('1');
    await deleteByPrefix(redis, p);
  });

  it('deleteByPrefix refuses an empty prefix', async () => {
    expect.assertions(1);
    await expect(deleteByPrefix(redis, '')).rejects.toThrow(/empty prefix/);
  });

  it('newRedis gives independent clients', async () => {
    const other = newRedis();
    try {
      const key = `${uniquePrefix()}x`;
      await other.set(key, 'v', 'EX', 10);
      expect(await redis.get(key)).toBe('v');
      await other.del(key);
    } finally {
      await other.quit();
    }
  });
});
