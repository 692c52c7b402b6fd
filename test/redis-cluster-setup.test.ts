import { Cluster } from 'ioredis';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { startRedisCluster, type RedisCluster } from './helpers/redis-cluster.js';
import { deleteByPrefix, keysByPrefix, newCluster, redisClusterNodes, redisUrl, testClusterNodes, uniquePrefix, withCluster } from './helpers/redis.js';

const cluster = withCluster();

/** Slots served, from CLUSTER SLOTS: every one of 0..16383 exactly once. */
function slotsCovered(slots: [number, number, ...unknown[]][]): boolean {
  const seen = new Uint8Array(16384);
  for (const [from, to] of slots) for (let s = from; s <= to; s++) seen[s]! += 1;
  return seen.every((n) => n === 1);
}

describe('private test Redis Cluster', () => {
  it('is provided by globalSetup: six loopback seeds, none on 6379 or on the single Redis', () => {
    const nodes = redisClusterNodes();
    expect(nodes).toHaveLength(6);
    expect(inject('redisClusterNodes')).toBe(nodes.map((n) => `127.0.0.1:${n.port}`).join(','));
    const single = Number(new URL(redisUrl()).port);
    for (const n of nodes) {
      expect(n.host).toBe('127.0.0.1');
      expect(n.port).not.toBe(6379);
      expect(n.port).not.toBe(single);
    }
  });

  it('has 3 masters, each with a replica, and every slot covered', async () => {
    const nodes = await testClusterNodes().nodes();
    const masters = nodes.filter((n) => n.role === 'master');
    expect(masters).toHaveLength(3);
    for (const m of masters) {
      expect(m.up).toBe(true);
      expect(nodes.filter((n) => n.masterId === m.id)).toHaveLength(1);
    }
    expect(slotsCovered((await cluster.cluster('SLOTS')) as [number, number][])).toBe(true);
    expect(String(await cluster.cluster('INFO'))).toMatch(/cluster_state:ok/);
  });

  it('runs with persistence off', async () => {
    for (const node of cluster.nodes('master')) {
      const save = (await node.config('GET', 'save')) as unknown;
      expect(Array.isArray(save) ? save[1] : (save as Record<string, string>)['save']).toBe('');
    }
  });

  it('reads back keys written through the Cluster client, spread over the masters; deleteByPrefix removes them on each', async () => {
    const p = uniquePrefix();
    const other = uniquePrefix();
    await Promise.all(Array.from({ length: 300 }, (_, i) => cluster.set(`${p}k${i}`, String(i))));
    await cluster.set(`${other}keep`, '1');
    expect(await cluster.get(`${p}k7`)).toBe('7');
    expect(await cluster.mget(`${p}{t}a`, `${p}{t}b`)).toEqual([null, null]); // one slot: allowed
    // 300 keys land on every master
    const perMaster = await Promise.all(cluster.nodes('master').map((n) => n.dbsize()));
    expect(perMaster.every((n) => n > 0)).toBe(true);
    expect((await keysByPrefix(cluster, p)).sort()).toHaveLength(300);

    expect(await deleteByPrefix(cluster, p)).toBe(300);
    expect(await keysByPrefix(cluster, p)).toEqual([]);
    expect(await cluster.get(`${other}keep`)).toBe('1');
    expect(await deleteByPrefix(cluster, other)).toBe(1);
  });

  it('delivers sharded pub/sub through a client with sharded subscribers', async () => {
    const sub = newCluster({ sharded: true });
    try {
      const channel = `${uniquePrefix()}{p:3}:events`;
      const got = new Promise<string>((resolve) => sub.on('smessage', (ch: string, msg: string) => ch === channel && resolve(msg)));
      await sub.ssubscribe(channel);
      expect(await cluster.spublish(channel, 'hello')).toBe(1);
      expect(await got).toBe('hello');
    } finally {
      await sub.quit().catch(() => sub.disconnect());
    }
  });
});

/**
 * The controls a failover test uses, on a cluster of this test's own: the shared one serves
 * other test files meanwhile.
 */
describe('cluster controls', () => {
  let own: RedisCluster | null = null;
  afterAll(async () => {
    await own?.stop();
  });

  it('kill takes a master down, its replica takes over, restart brings the node back as a replica', { timeout: 40_000 }, async () => {
    own = await startRedisCluster();
    const client = new Cluster(own.ports.slice(0, 2).map((port) => ({ host: '127.0.0.1', port })), { redisOptions: { maxRetriesPerRequest: 1 } });
    client.on('error', () => {});
    try {
      const victim = (await own.masters())[0]!;
      const replica = (await own.nodes()).find((n) => n.masterId === victim.id)!;
      await client.set('k', 'before');
      await client.wait(1, 1000);

      await own.kill(victim.port);
      // the replica is promoted within a few node timeouts and serves the slots
      const start = Date.now();
      while (!(await own.masters()).some((m) => m.port === replica.port)) {
        expect(Date.now() - start).toBeLessThan(15_000);
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(await client.get('k')).toBe('before');

      await own.restart(victim.port);
      await own.untilHealthy();
      const nodes = await own.nodes();
      expect(nodes.find((n) => n.port === victim.port)).toMatchObject({ role: 'replica', masterId: (await own.masters()).find((m) => m.port === replica.port)!.id, up: true });
      expect(nodes.filter((n) => n.role === 'master')).toHaveLength(3);
    } finally {
      client.disconnect();
    }
  });
});
