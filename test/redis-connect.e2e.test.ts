/**
 * The plumbing around the store on both Redis targets, one node and the cluster: connections
 * as main.ts opens them (connect.ts), their metrics, the sharded half of the bus, subscriber
 * counts, the bus watch, the layout stamp.
 */
import { Cluster, Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { countSubscribers, redisBackend } from '../src/backend.js';
import { watchSubscribers } from '../src/realtime/bus-watch.js';
import { channels as channelNames } from '../src/realtime/channels.js';
import { RoutingPubSub, ShardedPubSub } from '../src/realtime/sharded-pubsub.js';
import { createMetrics } from '../src/metrics/metrics.js';
import { checkLayout, StartupError } from '../src/startup-errors.js';
import type { RedisClient } from '../src/store/redis/client.js';
import { connectRedis, type ConnectionRole, type RedisTarget } from '../src/store/redis/connect.js';
import { instrumentRedis } from '../src/store/redis/instrument.js';
import { LAYOUT_VERSION, layoutKey } from '../src/store/redis/keys.js';
import { nodeCommand } from './helpers/redis-cluster.js';
import { freePort } from './helpers/redis-server.js';
import { useServerChildren } from './helpers/server-child.js';
import { deleteByPrefix, redisClusterNodes, redisUrl, uniquePrefix } from './helpers/redis.js';

const spawnServer = useServerChildren();

const TARGETS: { name: string; target: () => RedisTarget }[] = [
  { name: 'one node', target: () => ({ kind: 'single', url: redisUrl() }) },
  { name: 'cluster', target: () => ({ kind: 'cluster', nodes: redisClusterNodes() }) },
];

async function until(cond: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000) {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe.each(TARGETS)('Redis plumbing on $name', ({ target }) => {
  const opened: RedisClient[] = [];
  const prefixes: string[] = [];
  const open = (role: ConnectionRole, name?: string) => {
    const c = connectRedis(target(), { role, name, commandTimeoutMs: 1500 });
    c.on('error', () => {});
    opened.push(c);
    return c;
  };
  const prefix = () => {
    const p = uniquePrefix();
    prefixes.push(p);
    return p;
  };
  afterEach(async () => {
    const admin = opened[0];
    if (admin) for (const p of prefixes.splice(0)) await deleteByPrefix(admin as Redis | Cluster, p);
  });
  afterAll(async () => {
    for (const c of opened.splice(0)) await c.quit().catch(() => c.disconnect());
  });

  it('opens the client the target needs, named, and fails fast once ready', async () => {
    const redis = open('commands');
    expect(await redis.ping()).toBe('PONG');
    if (target().kind === 'cluster') {
      expect(redis).toBeInstanceOf(Cluster);
      const c = redis as Cluster;
      expect(c.options.enableAutoPipelining).toBe(true);
      expect(c.options.enableOfflineQueue).toBe(false);
      expect(c.options.redisOptions?.commandTimeout).toBe(1500);
      expect(await c.nodes('master')[0]!.client('GETNAME')).toBe('notifications:commands');
    } else {
      expect(redis).toBeInstanceOf(Redis);
      const r = redis as Redis;
      expect([r.options.commandTimeout, r.options.enableOfflineQueue]).toEqual([1500, false]);
      expect(await r.client('GETNAME')).toBe('notifications:commands');
    }
    const sub = open('shard-subscriber');
    if (sub instanceof Cluster) expect(sub.options.shardedSubscribers).toBe(true);
  });

  it('times every command, auto-pipelined ones and scripts on a cluster included, once each', async () => {
    const metrics = createMetrics({ enabled: true });
    const redis = open('commands');
    instrumentRedis(redis, metrics);
    const p = prefix();
    // keys on many slots at once: on a cluster, auto-pipelined per node
    await Promise.all(Array.from({ length: 30 }, (_, i) => redis.set(`${p}k${i}`, '1')));
    redis.defineCommand('probeScript', { numberOfKeys: 1, lua: 'return redis.call("GET", KEYS[1])' });
    expect(await (redis as unknown as { probeScript(k: string): Promise<string> }).probeScript(`${p}k1`)).toBe('1');
    await redis.get(`${p}missing`);
    const histogram = (await metrics.registry.getMetricsAsJSON()).find((m) => m.name === 'ntf_redis_command_duration_seconds')!;
    const counts = new Map(histogram.values.filter((v) => (v as { metricName?: string }).metricName?.endsWith('_count')).map((v) => [v.labels.command, v.value]));
    expect(counts.get('set')).toBe(30);
    expect(counts.get('get')).toBe(1);
    expect(counts.get('script:probeScript')).toBe(1);
  });

  it('carries sharded channels over SSUBSCRIBE and global ones over SUBSCRIBE; counts the subscribers of each', async () => {
    const redis = open('commands');
    const subscriber = open('subscriber');
    const shardSubscriber = open('shard-subscriber');
    const p = prefix();
    const ch = channelNames(p, 16);
    const backend = redisBackend({ redis, subscriber, shardSubscriber, cap: 50, prefix: p });
    const bus = backend.bus as RoutingPubSub;
    const users = ['ann', 'bob', 'cy', 'dee', 'eve'];
    const got: [string, unknown][] = [];
    const ids = await Promise.all([
      ...users.map((u) => bus.subscribe(ch.user(u), (m) => got.push([u, m]), {})),
      bus.subscribe(ch.broadcastsOf('ann'), (m) => got.push(['b', m]), {}),
      bus.subscribe(ch.topic('news'), (m) => got.push(['topic', m]), {}),
    ]);
    for (const u of users) expect(bus.listenerCount(ch.user(u))).toBe(1);
    expect(bus.listenerCount(ch.topic('news'))).toBe(1);
    // where each half lives: shard channels only on the shard side, topics only on the global one
    const shardChannels = async () =>
      (redis instanceof Cluster ? await Promise.all(redis.nodes('master').map((n) => n.call('PUBSUB', 'SHARDCHANNELS', `${p}*`))) : [await redis.call('PUBSUB', 'SHARDCHANNELS', `${p}*`)]).flat() as string[];
    expect((await shardChannels()).sort()).toEqual([...users.map((u) => ch.user(u)), ch.broadcastsOf('ann')].sort());
    // eventually: a Cluster's SUBSCRIBE connection may start on a replica seed and move to a
    // master once ioredis knows the roles (resubscribing there)
    await until(async () => (await backend.countSubscribers(ch.topic('news'))) === 1, 'one subscriber of the topic');
    const sharded = async (channel: string) => {
      if (!(redis instanceof Cluster)) return Number(((await redis.call('PUBSUB', 'SHARDNUMSUB', channel)) as unknown[])[1]);
      const counts = await Promise.all(redis.nodes('master').map(async (n) => Number(((await n.call('PUBSUB', 'SHARDNUMSUB', channel)) as unknown[])[1])));
      return counts.reduce((a, b) => a + b, 0);
    };
    for (const u of users) expect(await sharded(ch.user(u))).toBe(1);

    for (const u of users) await bus.publish(ch.user(u), { to: u });
    await bus.publish(ch.broadcastsOf('ann'), { all: true });
    await bus.publish(ch.topic('news'), { hot: 1 });
    await until(() => got.length === users.length + 2, 'every event');
    expect(got.sort()).toEqual([...users.map((u) => [u, { to: u }]), ['b', { all: true }], ['topic', { hot: 1 }]].sort());

    for (const id of ids) bus.unsubscribe(id);
    await until(async () => (await shardChannels()).length === 0, 'shard channels released');
    expect(Object.keys(bus.subscriptionMap)).toEqual([]);
  });

  it('counts the instances on a channel: SHARDNUMSUB on the owner of a sharded one, NUMSUB on every node for a global one', async () => {
    const redis = open('commands');
    const p = prefix();
    const ch = channelNames(p, 16);
    const a = new ShardedPubSub(redis, open('shard-subscriber'));
    const b = new ShardedPubSub(redis, open('shard-subscriber'));
    await a.subscribe(ch.user('zed'), () => {});
    await b.subscribe(ch.user('zed'), () => {});
    await a.subscribe(ch.user('yan'), () => {});
    // two instances' global subscribers, on whatever nodes a cluster gave them
    const globals = [open('subscriber'), open('subscriber')];
    for (const g of globals) await g.subscribe(ch.dashboard);
    await until(async () => (await countSubscribers(redis, ch.dashboard, false)) === 2, 'two subscribers of the dashboard channel');
    expect(await countSubscribers(redis, ch.user('zed'), true)).toBe(2);
    expect(await countSubscribers(redis, ch.user('yan'), true)).toBe(1);
    expect(await countSubscribers(redis, ch.user('nobody'), true)).toBe(0);
    expect(await countSubscribers(redis, ch.topic('nobody'), false)).toBe(0);
  });

  it('stamps the key layout once, accepts it again, and refuses another with one line naming the way out', async () => {
    const redis = open('commands');
    const p = prefix();
    await checkLayout(redis, p, 16);
    expect(await redis.get(layoutKey(p))).toBe(`${LAYOUT_VERSION}:16`);
    await checkLayout(redis, p, 16);
    const err = await checkLayout(redis, p, 32).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StartupError);
    expect((err as Error).message).toBe(
      `Redis holds key layout version ${LAYOUT_VERSION} with 16 partitions under REDIS_KEY_PREFIX "${p}", this server uses version ${LAYOUT_VERSION} with 32 partitions (REDIS_PARTITIONS): start it on a fresh Redis or with another REDIS_KEY_PREFIX (docs/redis-layout.md, "Layout version")`,
    );
    await redis.set(layoutKey(p), '1:16');
    expect(((await checkLayout(redis, p, 16).catch((e: unknown) => e)) as Error).message).toMatch(
      new RegExp(`^Redis holds key layout version 1 with 16 partitions under REDIS_KEY_PREFIX "${p}", this server uses version ${LAYOUT_VERSION} with 16 partitions: start it on a fresh Redis`),
    );
  });

  /**
   * Drops the connections named `name` on every node, replicas included (as a network cut or a
   * node restart would).
   */
  async function killClients(name: string): Promise<number> {
    const ports = target().kind === 'cluster' ? redisClusterNodes().map((n) => n.port) : [Number(new URL(redisUrl()).port)];
    let killed = 0;
    for (const port of ports) {
      const list = String(await nodeCommand(port, 'CLIENT', 'LIST'));
      for (const line of list.split('\n')) {
        const field = (k: string) => line.split(' ').find((f) => f.startsWith(`${k}=`))?.slice(k.length + 1);
        const client = field('name') ?? '';
        // ours, or a Cluster's subscriber connection carrying our name after its own prefix
        if (client === `notifications:${name}` || client.endsWith(`):notifications:${name}`)) killed += Number(await nodeCommand(port, 'CLIENT', 'KILL', 'ID', field('id')!));
      }
    }
    return killed;
  }

  it.each(['subscriber', 'shard-subscriber'] as const)('suspends streams when the %s connection drops and resumes them once its subscriptions are active again', async (role) => {
    const redis = open('commands');
    const name = `${role}-${uniquePrefix().slice(1, 9)}`;
    const subscriber = open('subscriber', role === 'subscriber' ? name : undefined);
    const shardSubscriber = open('shard-subscriber', role === 'shard-subscriber' ? name : undefined);
    const p = prefix();
    const ch = channelNames(p, 16);
    const backend = redisBackend({ redis, subscriber, shardSubscriber, cap: 50, prefix: p });
    const bus = backend.bus as RoutingPubSub;
    const channel = role === 'subscriber' ? ch.topic('watch') : ch.user('wat');
    const got: unknown[] = [];
    await bus.subscribe(channel, (m) => got.push(m), {});
    const events: string[] = [];
    watchSubscribers([subscriber, shardSubscriber], { suspend: () => events.push('suspend'), resume: () => events.push('resume') });

    expect(await killClients(name)).toBeGreaterThan(0);
    await until(() => events.length === 2, 'suspend, then resume', 15_000);
    expect(events).toEqual(['suspend', 'resume']);
    // resumed means subscribed: what is published now arrives
    await bus.publish(channel, { after: 'resume' });
    await until(() => got.length === 1, 'the event published after resume');
    expect(got).toEqual([{ after: 'resume' }]);
  });

  it('a server started on it stamps the layout, opens its three named connections and is ready', { timeout: 30_000 }, async () => {
    const p = prefix();
    const port = await freePort();
    const t = target();
    const env: Record<string, string> = t.kind === 'single' ? { REDIS_URL: t.url } : { REDIS_CLUSTER_NODES: t.nodes.map((n) => `${n.host}:${n.port}`).join(',') };
    const server = spawnServer({ PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', HOST: '127.0.0.1', PORT: String(port), LOG_LEVEL: 'error', REDIS_KEY_PREFIX: p, REDIS_PARTITIONS: '8', SCHEDULER_ENABLED: 'false', ...env });
    await until(async () => (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => null))?.status === 200, `server ready (${server.output()})`, 20_000);
    const admin = open('commands');
    expect(await admin.get(layoutKey(p))).toBe(`${LAYOUT_VERSION}:8`);
    const ports = t.kind === 'cluster' ? t.nodes.map((n) => n.port) : [Number(new URL(t.url).port)];
    const names = new Set<string>();
    for (const nodePort of ports) {
      for (const line of String(await nodeCommand(nodePort, 'CLIENT', 'LIST')).split('\n')) {
        if (!line.includes(`cmd=`)) continue;
        const name = /\bname=(\S*)/.exec(line)?.[1] ?? '';
        names.add(name.replace(/^ioredis-cluster\((s?subscriber)\):/, '$1 of '));
      }
    }
    expect(names).toContain('notifications:commands');
    expect(names).toContain(t.kind === 'cluster' ? 'subscriber of notifications:subscriber' : 'notifications:subscriber');
    // on a cluster its connection per shard opens with the first sharded channel; the client's own is there
    expect(names).toContain('notifications:shard-subscriber');
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
  });

  it('a SUBSCRIBE cut off by its connection closing fails that subscription only: nothing unhandled', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (err: unknown) => unhandled.push(err);
    process.on('unhandledRejection', onUnhandled);
    try {
      const subscriber = connectRedis(target(), { role: 'subscriber' });
      subscriber.on('error', () => {});
      // a Cluster holds commands while it has no slot map (disconnect leaves them pending): once it
      // has one, the SUBSCRIBE goes out on its subscriber connection, which the disconnect closes
      if (subscriber instanceof Cluster) await subscriber.ping();
      const shardSubscriber = open('shard-subscriber');
      const backend = redisBackend({ redis: open('commands'), subscriber, shardSubscriber, cap: 50, prefix: prefix() });
      const sub = backend.bus.subscribe(backend.channels.topic('cut'), () => {}, {});
      subscriber.disconnect();
      await expect(sub).rejects.toThrow(/Connection is closed|closed/);
      // unhandled rejections are reported after the microtasks of a turn
      for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});

describe('the commands connection on one node', () => {
  it('writes the commands of one turn in one write, each answered in order; a later turn writes again', async () => {
    const redis = connectRedis({ kind: 'single', url: redisUrl() }, { role: 'commands', commandTimeoutMs: 1500 }) as Redis;
    redis.on('error', () => {});
    const key = `${uniquePrefix()}n`;
    try {
      await redis.ping();
      // every write the socket makes passes through one of these two (Writable's implementer API)
      const socket = (redis as unknown as { stream: Record<'_write' | '_writev', (...a: unknown[]) => void> }).stream;
      let writes = 0;
      for (const m of ['_write', '_writev'] as const) {
        const write = socket[m].bind(socket);
        socket[m] = (...a) => {
          writes++;
          write(...a);
        };
      }
      const replies = await Promise.all(Array.from({ length: 20 }, (_, i) => redis.incrby(key, i + 1)));
      expect(replies).toEqual(Array.from({ length: 20 }, (_, i) => ((i + 1) * (i + 2)) / 2));
      expect(writes).toBe(1);
      expect(await redis.get(key)).toBe('210');
      expect(writes).toBe(2);
    } finally {
      await redis.del(key);
      await redis.quit();
    }
  });
});
