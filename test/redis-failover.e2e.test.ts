/**
 * A Redis Cluster master killed (SIGKILL) in the middle of a burst of sends, with the server as
 * a real process on a cluster of this file's own (3 masters, 3 replicas; the shared test cluster
 * is left alone) and REDIS_WAIT_REPLICAS=1: docs/redis-layout.md, "Failover".
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InboxDocument } from '../src/client/gql/graphql.js';
import { DEFAULT_PARTITIONS, partitionOf } from '../src/store/partition.js';
import { DEFAULT_PREFIX } from '../src/store/prefix.js';
import { NODE_TIMEOUT_MS, nodeCommand, startRedisCluster, type RedisCluster } from './helpers/redis-cluster.js';
import { auth, inbox, send, until, useServerUnderTest } from './helpers/server-under-test.js';
import { subscribe, wsClient } from './helpers/ws.js';

const startServer = useServerUnderTest();
let cluster: RedisCluster;
beforeAll(async () => {
  cluster = await startRedisCluster();
}, 30_000);
afterAll(async () => {
  await cluster?.stop();
});

/** The master port serving `userId`'s partition (its hash tag's slot); null while none does (mid-failover). */
async function masterOf(userId: string): Promise<number | null> {
  const key = `${DEFAULT_PREFIX}{p:${partitionOf(userId, DEFAULT_PARTITIONS)}}:x`;
  // any node that answers (one may be the one just killed)
  const slots = await Promise.all(cluster.ports.map((p) => nodeCommand(p, 'CLUSTER', 'KEYSLOT', key).catch(() => null)));
  const slot = Number(slots.find((x) => x !== null));
  const master = (await cluster.masters().catch(() => [])).find((m) => m.slots.some(([a, b]) => a <= slot && slot <= b));
  return master?.port ?? null;
}

type Seen = { id: string; title: string };

/**
 * `userId`'s inbox stream as a client keeps it: when it ends (the store was away), it subscribes
 * again with `after` = the last notification it saw. Every notification delivered, in order.
 */
function resumingInbox(url: string, token: string) {
  const { client } = wsClient(url, token, { retryAttempts: 20 });
  const seen: Seen[] = [];
  let resumes = 0;
  let stopped = false;
  let current: ReturnType<typeof subscribe<any, { after?: string | null }>>;
  const open = () => {
    current = subscribe(client, InboxDocument as any, { after: seen.at(-1)?.id ?? null });
    let taken = 0;
    /** moves the notifications this subscription delivered so far into `seen` */
    const drain = () => {
      for (; taken < current.results.length; taken++) {
        const n = (current.results[taken] as any).data?.inbox?.notification;
        if (n) seen.push({ id: n.id, title: n.title });
      }
    };
    const poll = setInterval(drain, 10);
    void current.ended.then(() => {
      clearInterval(poll);
      drain();
      if (stopped) return;
      resumes++;
      setTimeout(open, 200);
    });
  };
  open();
  return {
    seen,
    resumes: () => resumes,
    /** the current subscription delivered its first event (attached, or the replay) */
    attached: () => current.results.length > 0,
    stop() {
      stopped = true;
      current.stop();
      void client.dispose();
    },
  };
}

describe('Redis Cluster failover', () => {
  it('a master killed mid-burst: every acknowledged send is there exactly once, a resumed stream misses nothing, the server answers again within the failover time and a few seconds', { timeout: 120_000 }, async () => {
    const s = await startServer({ REDIS_CLUSTER_NODES: cluster.seeds }, { REDIS_WAIT_REPLICAS: '1', SCHEDULER_ENABLED: 'false', DELIVERY_WORKER_ENABLED: 'false' });
    // Users over every master, and one we watch on the master that dies.
    const users = Array.from({ length: 12 }, (_, i) => `f${i}`);
    const watched = users[0]!;
    const victim = (await masterOf(watched))!;
    const stream = resumingInbox(s.ws, await auth.sign({ sub: watched, roles: ['user'], expiresIn: '1h' }));
    await until(() => stream.attached(), 'stream attached');

    const acked: (Seen & { user: string })[] = [];
    const refused: string[] = [];
    let stop = false;
    let sent = 0;
    const worker = async () => {
      while (!stop) {
        const i = sent++;
        const user = users[i % users.length]!;
        const title = `n${i}`;
        try {
          const n = (await send(s, user, title)).notifications[0];
          acked.push({ user, id: n.id, title: n.title });
        } catch (err) {
          // Not acknowledged (SERVICE_UNAVAILABLE while the shard fails over): may or may not be stored.
          refused.push(String(err));
          await new Promise((r) => setTimeout(r, 20));
        }
      }
    };
    const workers = Array.from({ length: 6 }, worker);
    await until(() => acked.length >= 120, 'a burst under way');

    const cursorAtKill = stream.seen.at(-1)!.id;
    const killedAt = Date.now();
    await cluster.kill(victim);
    // Its replica takes over; the old node, started again, rejoins as the new master's replica,
    // so writes there can reach a replica again (WAIT 1).
    await until(async () => ![null, victim].includes(await masterOf(watched)), 'failover', 15_000);
    await cluster.restart(victim);
    const ackedAtKill = acked.filter((a) => a.user === watched).length;
    await until(() => acked.filter((a) => a.user === watched).length > ackedAtKill, 'sends to the failed-over shard acknowledged again', 30_000);
    const backAfterMs = Date.now() - killedAt;
    await until(() => acked.length >= 400, 'the burst going on after the failover', 30_000);
    stop = true;
    await Promise.all(workers);

    // Every acknowledged send present exactly once, in every inbox.
    for (const user of users) {
      const held = await inbox(s, user);
      const ids = held.map((n) => n.id);
      const titles = held.map((n) => n.title);
      expect(new Set(ids).size).toBe(ids.length);
      expect(new Set(titles).size).toBe(titles.length);
      for (const a of acked.filter((x) => x.user === user)) expect(held).toContainEqual({ id: a.id, title: a.title });
    }
    // The stream, resumed with `after` whenever it ended, delivered each acknowledged one once.
    const mine = acked.filter((a) => a.user === watched);
    await until(() => mine.every((a) => stream.seen.some((n) => n.id === a.id)), 'the stream caught up', 15_000);
    stream.stop();
    const streamed = stream.seen.map((n) => n.id);
    expect(new Set(streamed).size).toBe(streamed.length);
    // A client that went away when the master died resumes from the last id it had: the replay
    // holds every acknowledged send since, once, and says it is complete.
    const { client } = wsClient(s.ws, await auth.sign({ sub: watched, roles: ['user'], expiresIn: '1h' }));
    const resumed = subscribe(client, InboxDocument, { after: cursorAtKill });
    await until(() => resumed.results.some((r) => r.data?.inbox.replayComplete != null), 'the replay and its marker', 15_000);
    const replay = resumed.results.flatMap((r) => (r.data?.inbox.notification ? [r.data.inbox.notification.id] : []));
    expect(resumed.results.find((r) => r.data?.inbox.replayComplete != null)?.data?.inbox.replayComplete).toBe(true);
    expect(new Set(replay).size).toBe(replay.length);
    for (const a of mine.filter((x) => x.id > cursorAtKill)) expect(replay).toContain(a.id);
    resumed.stop();
    void client.dispose();
    // Liveness, not a benchmark: the failover takes about NODE_TIMEOUT_MS and a restarted node a second or two.
    expect(backAfterMs).toBeLessThan(NODE_TIMEOUT_MS + 15_000);
    expect(refused.length + acked.length).toBe(sent);
    // A send that was not acknowledged was answered with the retryable code, never an internal error.
    for (const r of refused) expect(r).toContain('SERVICE_UNAVAILABLE');
    if (process.env.FAILOVER_REPORT) console.log(`failover: ${acked.length} acknowledged, ${refused.length} refused, answering again after ${backAfterMs} ms, ${stream.resumes()} stream resumes`);
  });
});
