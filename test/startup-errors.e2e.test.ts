/**
 * Start-up failures, each in a real server process: one line naming the cause and the setting
 * to change, exit code 1, a stack only at LOG_LEVEL=debug. The server runs from the sources
 * (tsx), so this file doesn't race process.e2e.test.ts, which rebuilds dist/.
 */
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { useServerChildren } from './helpers/server-child.js';
import { freePort } from './helpers/redis-server.js';
import { deleteByPrefix, keysByPrefix, newCluster, newRedis, redisClusterNodes, redisClusterSeeds, redisUrl, uniquePrefix } from './helpers/redis.js';
import { LAYOUT_VERSION, layoutKey } from '../src/store/redis/keys.js';

const spawnServer = useServerChildren();
const servers: net.Server[] = [];
const sockets: net.Socket[] = [];

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

/** Starts the server with `env` on top of a clean base; resolves with its exit code and output. */
async function startServer(env: Record<string, string>) {
  const base = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', HOST: '127.0.0.1', PORT: String(await freePort()) };
  const s = spawnServer({ ...base, ...env });
  const code = await s.exited;
  const out = s.output();
  return { code, out, lines: out.trim().split('\n') };
}

/** A TCP server on a free loopback port that accepts connections and never answers. */
async function silentServer(): Promise<number> {
  const s = net.createServer((socket) => void sockets.push(socket));
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return (s.address() as net.AddressInfo).port;
}

describe('start-up errors', { timeout: 30_000 }, () => {
  it('port in use: one line naming PORT, exit 1, no stack', async () => {
    const port = await silentServer();
    const r = await startServer({ PORT: String(port) });
    expect(r.code).toBe(1);
    expect(r.lines).toEqual([`Port ${port} is already in use on 127.0.0.1: set PORT to a free port, or stop the process that holds it`]);
  });

  it('port in use at LOG_LEVEL=debug: the same line, then the stack', async () => {
    const port = await silentServer();
    const r = await startServer({ PORT: String(port), LOG_LEVEL: 'debug' });
    expect(r.code).toBe(1);
    expect(r.lines[0]).toBe(`Port ${port} is already in use on 127.0.0.1: set PORT to a free port, or stop the process that holds it`);
    expect(r.out).toMatch(/\n\s+at .*listenError/);
    expect(r.out).toMatch(/EADDRINUSE/);
  });

  it('Redis refusing connections: one line naming REDIS_URL, exit 1', async () => {
    const port = await freePort();
    const r = await startServer({ REDIS_URL: `redis://127.0.0.1:${port}` });
    expect(r.code).toBe(1);
    expect(r.lines).toEqual([
      `Cannot reach Redis at redis://127.0.0.1:${port} (connect ECONNREFUSED 127.0.0.1:${port}): check REDIS_URL and that Redis runs there, or unset REDIS_URL for the memory backend`,
    ]);
  });

  it('Redis that never answers: gives up after the 5 s PING bound, one line, password hidden', async () => {
    const port = await silentServer();
    const started = Date.now();
    const r = await startServer({ REDIS_URL: `redis://:hunter2-secret@127.0.0.1:${port}` });
    expect(r.code).toBe(1);
    expect(r.lines).toEqual([
      `Redis at redis://***@127.0.0.1:${port} did not answer PING within 5 s: check REDIS_URL and that Redis runs there, or unset REDIS_URL for the memory backend`,
    ]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(5000);
  });

  it('Redis Cluster refusing connections: one line naming REDIS_CLUSTER_NODES and the seeds, exit 1', async () => {
    const [a, b] = [await freePort(), await freePort()];
    const r = await startServer({ REDIS_CLUSTER_NODES: `127.0.0.1:${a},127.0.0.1:${b}` });
    expect(r.code).toBe(1);
    expect(r.lines).toEqual([
      `Cannot reach the Redis Cluster at 127.0.0.1:${a},127.0.0.1:${b} (no seed accepted a connection): check REDIS_CLUSTER_NODES and that Redis runs there, or unset REDIS_CLUSTER_NODES for the memory backend`,
    ]);
  });

  it('REDIS_URL pointing at a node of a Redis Cluster: one line saying to set REDIS_CLUSTER_NODES, exit 1', async () => {
    const node = redisClusterNodes()[0]!;
    const r = await startServer({ REDIS_URL: `redis://127.0.0.1:${node.port}` });
    expect(r.code).toBe(1);
    expect(r.lines).toEqual([`Redis at redis://127.0.0.1:${node.port} is a node of a Redis Cluster: set REDIS_CLUSTER_NODES to its nodes (host:port,…) instead of REDIS_URL`]);
  });

  it('REDIS_URL and REDIS_CLUSTER_NODES together: one line naming both, exit 1', async () => {
    const r = await startServer({ REDIS_URL: redisUrl(), REDIS_CLUSTER_NODES: redisClusterSeeds() });
    expect(r.code).toBe(1);
    expect(r.lines).toEqual([
      'Invalid configuration: REDIS_URL and REDIS_CLUSTER_NODES are both set: set REDIS_URL for one Redis node or REDIS_CLUSTER_NODES for a Redis Cluster, not both',
    ]);
  });

  it.each(['redis', 'cluster'] as const)('another key layout in Redis (%s): one line naming the way out, exit 1, nothing written', async (kind) => {
    const prefix = uniquePrefix();
    const redis = kind === 'redis' ? newRedis() : newCluster();
    try {
      await redis.set(layoutKey(prefix), `${LAYOUT_VERSION - 1}:16`);
      const env: Record<string, string> = kind === 'redis' ? { REDIS_URL: redisUrl() } : { REDIS_CLUSTER_NODES: redisClusterSeeds() };
      const r = await startServer({ ...env, REDIS_KEY_PREFIX: prefix });
      expect(r.code).toBe(1);
      expect(r.lines).toEqual([
        `Redis holds key layout version ${LAYOUT_VERSION - 1} with 16 partitions under REDIS_KEY_PREFIX "${prefix}", this server uses version ${LAYOUT_VERSION} with 16 partitions: start it on a fresh Redis or with another REDIS_KEY_PREFIX (docs/redis-layout.md, "Layout version")`,
      ]);
      expect(await keysByPrefix(redis, prefix)).toEqual([layoutKey(prefix)]);
    } finally {
      await deleteByPrefix(redis, prefix);
      await redis.quit();
    }
  });

  it('bad config: one line naming the variable, exit 1', async () => {
    const r = await startServer({ MAX_BODY_BYTES: 'lots', LOG_LEVEL: 'debug' });
    expect(r.code).toBe(1);
    expect(r.lines).toEqual(['Invalid configuration: MAX_BODY_BYTES: expected an integer 1024..104857600, got "lots"']);
  });

  it('missing secret in production: one line naming JWT_SECRET, exit 1', async () => {
    const r = await startServer({ NODE_ENV: 'production' });
    expect(r.code).toBe(1);
    expect(r.lines).toEqual([
      "Invalid configuration: JWT_SECRET or JWT_JWKS_URL is required when NODE_ENV=production: set JWT_SECRET to a random string of at least 32 characters (e.g. openssl rand -base64 48), or JWT_JWKS_URL to your identity provider's JWKS",
    ]);
  });
});
