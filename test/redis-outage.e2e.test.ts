/**
 * Redis outages and restarts, with the server as a real process (from sources) on a
 * redis-server of each test's own, which the test stops, kills and starts again on the same
 * port, with its data (AOF, appendfsync always) or empty. docs/guarantees.md, "Redis outages
 * and restarts", lists what each test proves.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { InboxDocument, NotificationReceivedDocument } from '../src/client/gql/graphql.js';
import { startWebhookReceiver } from './helpers/fake-providers.js';
import { LIST, SEND, SERVICE, auth, inbox, send, until, useServerUnderTest, user } from './helpers/server-under-test.js';
import { freePort, startRedisServer, type RedisServer, type RedisServerOptions } from './helpers/redis-server.js';
import { subscribe, wsClient } from './helpers/ws.js';

const AOF = ['--appendonly', 'yes', '--appendfsync', 'always'];

const startServer = useServerUnderTest();
const cleanups: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const f of cleanups.splice(0).reverse()) await f();
});

/** A redis-server of this test's own on a fixed port; `restart` brings it back with or without its data. */
async function ownRedis(opts: { aof?: boolean } = {}) {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'outage-redis-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const options: RedisServerOptions = { dir, args: opts.aof ? AOF : [] };
  let server: RedisServer = await startRedisServer(port, options);
  cleanups.push(() => server.stop());
  return {
    url: `redis://127.0.0.1:${port}`,
    stop: () => server.stop(),
    kill: () => server.kill(),
    /** starts it again on the same port: with its files, or `empty` in a new directory */
    async start(mode: 'with-data' | 'empty' = 'with-data') {
      if (mode === 'empty') {
        const fresh = mkdtempSync(join(tmpdir(), 'outage-redis-'));
        cleanups.push(() => rmSync(fresh, { recursive: true, force: true }));
        server = await startRedisServer(port, { ...options, dir: fresh });
      } else server = await startRedisServer(port, options);
    },
    /** a client of this test (not the server's) */
    client() {
      const c = new Redis(`redis://127.0.0.1:${port}`, { maxRetriesPerRequest: 1, lazyConnect: true });
      c.on('error', () => {});
      cleanups.push(() => c.quit().catch(() => c.disconnect()));
      return c;
    },
  };
}

describe('Redis unreachable', () => {
  it('queries and mutations answer SERVICE_UNAVAILABLE within 2 s (HTTP 200, Retry-After), /readyz is 503; streams stay open and catch up; scheduled sends and the outbox resume', { timeout: 90_000 }, async () => {
    const redis = await ownRedis({ aof: true });
    const receiver = await startWebhookReceiver();
    cleanups.push(() => receiver.close());
    const s = await startServer({ REDIS_URL: redis.url });

    // A user with a webhook, an inbox stream and a notificationReceived stream.
    const set = await s.gql('mutation($u: ID!, $a: String!) { setChannelAddress(userId: $u, input: { channel: WEBHOOK, address: $a }) { webhookSecret } }', { u: 'ada', a: receiver.at('/ada') });
    receiver.addSecret(set.setChannelAddress.webhookSecret);
    await s.gql('mutation { updatePreferences(input: { channels: [{ type: "*", channels: [WEBHOOK] }] }) { mutedTypes } }', {}, user('ada'));
    const { client } = wsClient(s.ws, await auth.sign({ sub: 'ada', roles: ['user'] }));
    const inboxFeed = subscribe(client, InboxDocument, {});
    const received = subscribe(client, NotificationReceivedDocument, {});
    await inboxFeed.waitFor(1);
    const first = (await send(s, 'ada', 'before')).notifications[0];
    await received.waitFor(1);
    await inboxFeed.waitFor(2);
    // Due while Redis is away.
    const scheduled = await send(s, 'ada', 'scheduled', { sendAt: new Date(Date.now() + 2500).toISOString() });
    expect(scheduled.scheduledId).toEqual(expect.any(String));

    await redis.stop();
    for (const [query, variables] of [
      [LIST, { after: null }],
      [SEND, { i: { userIds: ['ada'], type: 'task_assigned', title: 'during', body: '', channels: ['WEBHOOK'] } }],
      ['mutation { markAllRead }', {}],
    ] as const) {
      const t0 = Date.now();
      const as = query === SEND ? SERVICE : user('ada');
      const r = await s.post(query, variables, as);
      expect(Date.now() - t0).toBeLessThan(2000);
      expect(r.status).toBe(200);
      expect(r.retryAfter).toBe('1');
      expect(r.body.errors?.map((e) => e.extensions?.code)).toEqual(['SERVICE_UNAVAILABLE']);
    }
    expect(await s.readyz()).toBe(503);
    // A new stream can't start: it ends with the same code, not a hang.
    const { client: late } = wsClient(s.ws, await auth.sign({ sub: 'bob', roles: ['user'] }));
    const lateFeed = subscribe(late, InboxDocument, {});
    const lateEnd = (await lateFeed.ended) as { error?: { extensions?: { code?: string } }[] };
    expect(lateEnd.error?.[0]?.extensions?.code).toBe('SERVICE_UNAVAILABLE');

    await redis.start('with-data');
    await until(async () => (await s.readyz()) === 200, 'ready again');
    // The streams opened before the outage are still open and get what is committed now,
    // including the scheduled send that fell due meanwhile.
    const after = (await send(s, 'ada', 'after', { channels: ['WEBHOOK'] })).notifications[0];
    const titles = async (feed: typeof received, n: number) => (await feed.waitFor(n, 15_000)).map((r) => r.data!.notificationReceived.title);
    await until(async () => (await inbox(s, 'ada')).length === 3, 'the scheduled send delivered', 15_000);
    expect((await inbox(s, 'ada')).map((n) => n.title).sort()).toEqual(['after', 'before', 'scheduled']);
    expect((await titles(received, 3)).sort()).toEqual(['after', 'before', 'scheduled']);
    const inboxTitles = (await inboxFeed.waitFor(4, 15_000)).map((r) => r.data!.inbox.notification?.title).filter(Boolean);
    expect(inboxTitles.sort()).toEqual(['after', 'before', 'scheduled']);
    expect(received.results.length).toBe(3);
    // The outbox: the webhook of the send made after the outage is delivered.
    await receiver.waitForAccepted(1, 15_000);
    expect(receiver.accepted.map((a) => a.id)).toEqual([`${after.id}-w`]);
    expect(first.id < after.id).toBe(true);
  });

  it('a stream whose bus connection drops while commands go on catches up on what was committed meanwhile, once each', { timeout: 60_000 }, async () => {
    const redis = await ownRedis();
    const s = await startServer({ REDIS_URL: redis.url }, { SCHEDULER_ENABLED: 'false', DELIVERY_WORKER_ENABLED: 'false' });
    const { client } = wsClient(s.ws, await auth.sign({ sub: 'ada', roles: ['user'] }));
    const inboxFeed = subscribe(client, InboxDocument, {});
    const received = subscribe(client, NotificationReceivedDocument, {});
    await inboxFeed.waitFor(1);
    await send(s, 'ada', 'one');
    await received.waitFor(1);
    await inboxFeed.waitFor(2);

    // Only the server's subscriber connection goes, and can't come back until we let it:
    // what is committed meanwhile is published to nobody on this server.
    const control = redis.client();
    await control.connect();
    await control.config('SET', 'maxclients', '1');
    expect(await control.call('CLIENT', 'KILL', 'TYPE', 'pubsub')).toBeGreaterThan(0);
    await send(s, 'ada', 'two');
    await send(s, 'ada', 'three');
    await s.gql('mutation($ids: [ID!]!) { markRead(ids: $ids) { id } }', { ids: [(await inbox(s, 'ada')).find((n) => n.title === 'one')!.id] }, user('ada'));
    await control.config('SET', 'maxclients', '10000');

    const got = (await received.waitFor(3, 15_000)).map((r) => r.data!.notificationReceived.title);
    expect(got).toEqual(['one', 'two', 'three']);
    const evs = (await inboxFeed.waitFor(4, 15_000)).map((r) => r.data!.inbox);
    expect(evs.filter((e) => e.notification).map((e) => e.notification!.title)).toEqual(['one', 'two', 'three']);
    // The count caught up too: 2 unread (one was read while the bus was away).
    await until(() => inboxFeed.results.at(-1)!.data!.inbox.unreadCount === 2, 'count caught up', 10_000);
    // And live again afterwards, still once each.
    await send(s, 'ada', 'four');
    expect((await received.waitFor(4, 10_000)).map((r) => r.data!.notificationReceived.title)).toEqual(['one', 'two', 'three', 'four']);
    await until(() => inboxFeed.results.some((r) => r.data!.inbox.notification?.title === 'four'), 'four on the inbox stream', 10_000);
    expect(inboxFeed.results.filter((r) => r.data!.inbox.notification).length).toBe(4);
  });

  it('an inbox stream that cannot prove it missed nothing ends with SERVICE_UNAVAILABLE; resuming says replayComplete false', { timeout: 60_000 }, async () => {
    const redis = await ownRedis();
    const s = await startServer({ REDIS_URL: redis.url }, { SCHEDULER_ENABLED: 'false', DELIVERY_WORKER_ENABLED: 'false' });
    const { client } = wsClient(s.ws, await auth.sign({ sub: 'ada', roles: ['user'] }));
    const feed = subscribe(client, InboxDocument, {});
    await feed.waitFor(1);
    const one = (await send(s, 'ada', 'one')).notifications[0];
    await feed.waitFor(2);

    const control = redis.client();
    await control.connect();
    await control.config('SET', 'maxclients', '1');
    expect(await control.call('CLIENT', 'KILL', 'TYPE', 'pubsub')).toBeGreaterThan(0);
    // Sent and deleted while the stream's bus is away: the stream could never tell.
    const two = (await send(s, 'ada', 'two')).notifications[0];
    await s.gql('mutation($ids: [ID!]!) { deleteNotifications(ids: $ids) }', { ids: [two.id] }, user('ada'));
    await control.config('SET', 'maxclients', '10000');

    // The error comes as the stream's last result (the stream had started), then it completes.
    await feed.ended;
    expect(feed.results.at(-1)!.errors?.map((e) => e.extensions)).toEqual([{ code: 'SERVICE_UNAVAILABLE' }]);
    expect(feed.results.filter((r) => r.data?.inbox.notification).map((r) => r.data!.inbox.notification!.title)).toEqual(['one']);
    const resumed = subscribe(client, InboxDocument, { after: one.id });
    expect((await resumed.waitFor(1, 10_000))[0]!.data!.inbox.replayComplete).toBe(false);
  });
});

describe('Redis restarted', () => {
  it('with its data (AOF, appendfsync always) after a crash: everything acknowledged is there, ids go on above', { timeout: 60_000 }, async () => {
    const redis = await ownRedis({ aof: true });
    const s = await startServer({ REDIS_URL: redis.url }, { SCHEDULER_ENABLED: 'false' });
    const acked: string[] = [];
    for (let i = 0; i < 40; i++) acked.push((await send(s, 'ada', `n${i}`)).notifications[0].id);
    await redis.kill();
    await redis.start('with-data');
    await until(async () => (await s.readyz()) === 200, 'ready again');
    const held = await inbox(s, 'ada');
    expect(held.map((n) => n.id).sort()).toEqual([...acked].sort());
    const next = (await send(s, 'ada', 'next')).notifications[0].id;
    expect(next > acked.at(-1)!).toBe(true);
    expect(s.output()).not.toMatch(/lost its data/);
  });

  it('empty: ids never go backwards, the server notices (log line) and serves on; a resume from before answers replayComplete false', { timeout: 60_000 }, async () => {
    const redis = await ownRedis();
    const s = await startServer({ REDIS_URL: redis.url }, { SCHEDULER_ENABLED: 'false' });
    const old = (await send(s, 'ada', 'old')).notifications[0].id;

    await redis.stop();
    await redis.start('empty');
    await until(async () => (await s.readyz()) === 200, 'ready again');
    await until(() => /lost its data/.test(s.output()), 'the loss logged', 10_000);
    expect(await (await fetch(s.http.replace('/graphql', '/metrics'))).text()).toMatch(/^ntf_redis_data_loss_total 1$/m);

    const fresh = (await send(s, 'ada', 'new')).notifications[0].id;
    // An old cursor can't hide the new notification.
    expect(fresh > old).toBe(true);
    const page = (await s.gql(LIST, { after: null }, user('ada'))).notifications;
    expect(page.edges.map((e: any) => e.node.title)).toEqual(['new']);
    // A client resuming from before the loss is told its view is not complete, and gets what is held.
    const { client } = wsClient(s.ws, await auth.sign({ sub: 'ada', roles: ['user'] }));
    const feed = subscribe(client, InboxDocument, { after: old });
    const evs = (await feed.waitFor(2, 10_000)).map((r) => r.data!.inbox);
    expect(evs[0]!.notification?.id).toBe(fresh);
    expect(evs[1]!.replayComplete).toBe(false);
    // A resume from after the loss is complete.
    const again = subscribe(client, InboxDocument, { after: fresh });
    expect((await again.waitFor(1, 10_000))[0]!.data!.inbox.replayComplete).toBe(true);
  });
});

describe('the server killed mid-burst', () => {
  it('after SIGKILL and a restart, every acknowledged send is present exactly once', { timeout: 90_000 }, async () => {
    const redis = await ownRedis();
    const s = await startServer({ REDIS_URL: redis.url }, { SCHEDULER_ENABLED: 'false', DELIVERY_WORKER_ENABLED: 'false' });
    const acked = new Map<string, string>();
    let stop = false;
    const worker = async (w: number) => {
      for (let i = 0; !stop; i++) {
        try {
          const n = (await send(s, 'ada', `w${w}-${i}`)).notifications[0];
          acked.set(n.id, n.title);
        } catch {
          return; // the process died under this request: not acknowledged
        }
      }
    };
    const workers = Array.from({ length: 8 }, (_, w) => worker(w));
    await until(() => acked.size >= 150, 'a burst under way');
    const killing = s.killAndRestart();
    stop = true;
    await Promise.all(workers);
    await killing;
    const held = await inbox(s, 'ada');
    const ids = held.map((n) => n.id);
    expect(new Set(ids).size).toBe(ids.length);
    const titles = held.map((n) => n.title);
    expect(new Set(titles).size).toBe(titles.length);
    for (const [id, title] of acked) expect(held).toContainEqual({ id, title });
    expect(held.length).toBeLessThanOrEqual(1000);
  });
});


