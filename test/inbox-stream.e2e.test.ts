/**
 * The `inbox` subscription end to end: real sockets (graphql-ws and SSE), both backends, two
 * instances on one Redis, and counts that follow time (the expiry sweeper).
 */
import type { ExecutionResult } from 'graphql';
import { describe, expect, it } from 'vitest';
import {
  BroadcastMutation,
  DeleteNotificationsMutation,
  InboxSubscription,
  MarkAllReadMutation,
  MarkReadMutation,
  MarkUnreadMutation,
  NotificationsQuery,
  SendNotificationMutation,
  UnreadCountChangedSubscription,
  UpsertUserMutation,
} from '../src/client/operations.js';
import type { InboxSubscription as InboxResult } from '../src/client/gql/graphql.js';
import { BACKENDS, SERVICE, asUser, useTestApp, type TestApp, EVERY_BACKEND } from './helpers/app.js';
import { withRedis } from './helpers/redis.js';
import { sseSubscribe } from './helpers/sse.js';
import { subscribe, wsClient } from './helpers/ws.js';

/** An event in short: the notification's title (or null), the count, the id lists, the marker. */
function short(r: ExecutionResult<InboxResult>) {
  if (r.errors) throw new Error(JSON.stringify(r.errors));
  const e = r.data!.inbox;
  return {
    n: e.notification?.title ?? null,
    count: e.unreadCount,
    ...(e.readIds && { read: e.readIds }),
    ...(e.unreadIds && { unread: e.unreadIds }),
    ...(e.removedIds && { removed: e.removedIds }),
    ...(e.replayComplete !== null && e.replayComplete !== undefined && { complete: e.replayComplete }),
  };
}

function sender(t: (i?: number) => TestApp) {
  return async (userId: string, title: string, o: { ttlSeconds?: number; i?: number } = {}) => {
    const r = await t(o.i ?? 0).run(
      SendNotificationMutation,
      { input: { userIds: [userId], type: 'task_assigned', title, body: '', ttlSeconds: o.ttlSeconds } },
      SERVICE,
    );
    if (r.errors) throw new Error(JSON.stringify(r.errors));
    return r.data!.sendNotification.notifications[0]!.id;
  };
}

/** Polls `ok` until it holds (bounded: a liveness check only). */
async function until(ok: () => boolean, timeoutMs = 5000) {
  const start = Date.now();
  while (!ok()) {
    if (Date.now() - start > timeoutMs) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function inboxFeed(t: TestApp, user: string, after?: string) {
  const { ws } = await t.listen();
  return subscribe(wsClient(ws, await t.token(user)).client, InboxSubscription, after === undefined ? {} : { after });
}

describe.each(EVERY_BACKEND)('inbox subscription over WebSocket (%s)', (backend) => {
  const t = useTestApp(backend, { cap: 3 });
  const send = sender(t);

  it('without after: one attached event, then new notifications, read-state changes and removals with the exact count', async () => {
    const a = await send('ann', 'a');
    const feed = await inboxFeed(t(), 'ann');
    expect((await feed.waitFor(1)).map(short)).toEqual([{ n: null, count: 1 }]);
    expect(feed.results[0]!.data!.inbox.replayComplete).toBeNull();
    // Attached: anything committed from here on is delivered, no waiting for the bus.
    const b = await send('ann', 'b');
    await t().run(MarkReadMutation, { ids: [a] }, asUser('ann'));
    await t().run(MarkUnreadMutation, { ids: [a] }, asUser('ann'));
    await t().run(DeleteNotificationsMutation, { ids: [b] }, asUser('ann'));
    await t().run(MarkAllReadMutation, {}, asUser('ann'));
    const got = await feed.waitFor(6);
    expect(got.map(short)).toEqual([
      { n: null, count: 1 },
      { n: 'b', count: 2 },
      { n: null, count: 1, read: [a] },
      { n: null, count: 2, unread: [a] },
      { n: null, count: 1, removed: [b] },
      { n: null, count: 0, read: [a] },
    ]);
    expect(got[1]!.data!.inbox.notification).toMatchObject({ id: b, read: false, broadcastId: null });
  });

  it('a send that pushes the oldest out under the cap says so', async () => {
    const ids = [await send('cap', '1'), await send('cap', '2'), await send('cap', '3')];
    const feed = await inboxFeed(t(), 'cap');
    await feed.waitFor(1);
    await send('cap', '4');
    expect((await feed.waitFor(3)).map(short).slice(1)).toEqual([
      { n: '4', count: 3 },
      { n: null, count: 3, removed: [ids[0]] },
    ]);
  });

  it('with after: sends racing the subscription show up exactly once, in id order, around one marker (true)', async () => {
    const after = await send('bo', 'old');
    const feed = await inboxFeed(t(), 'bo', after);
    const sent = [...(await Promise.all([send('bo', 'r1'), send('bo', 'r2')])), await send('bo', 'live')];
    const events = () => feed.results.map((r) => r.data!.inbox);
    const ids = () => events().flatMap((e) => (e.notification ? [e.notification.id] : []));
    await until(() => events().some((e) => e.replayComplete !== null) && sent.every((id) => ids().includes(id)));
    await new Promise((r) => setTimeout(r, 100)); // room for a stray duplicate to show up
    expect(ids()).toEqual([...sent].sort());
    // 'old' was pushed out by the cap, but it is not newer than after: nothing was lost
    expect(events().filter((e) => e.replayComplete !== null).map((e) => e.replayComplete)).toEqual([true]);
    const counts = events().map((e) => e.unreadCount);
    expect(counts).toEqual([...counts].sort((x, y) => x - y));
  });

  it('resume is exact: replayComplete true, nothing missed, nothing twice', async () => {
    const a = await send('cy', 'a');
    const b = await send('cy', 'b');
    await t().run(DeleteNotificationsMutation, { ids: [a] }, asUser('cy')); // older than after: no loss
    const after = await send('cy', 'c');
    const d = await send('cy', 'd');
    await t().run(MarkReadMutation, { ids: [d] }, asUser('cy'));
    const feed = await inboxFeed(t(), 'cy', after);
    expect((await feed.waitFor(2)).map(short)).toEqual([
      { n: 'd', count: 2 },
      { n: null, count: 2, complete: true },
    ]);
    expect(feed.results[0]!.data!.inbox.notification!.read).toBe(true);
    await send('cy', 'e'); // cap 3: pushes b (unread) out
    expect((await feed.waitFor(4)).map(short).slice(2)).toEqual([
      { n: 'e', count: 2 },
      { n: null, count: 2, removed: [b] },
    ]);
  });

  it('replayComplete is false after a cap push-out', async () => {
    const after = await send('dee', 'a');
    for (const title of ['b', 'c', 'd', 'e']) await send('dee', title); // b is pushed out
    const feed = await inboxFeed(t(), 'dee', after);
    expect((await feed.waitFor(4)).map(short)).toEqual([
      { n: 'c', count: 3 },
      { n: 'd', count: 3 },
      { n: 'e', count: 3 },
      { n: null, count: 3, complete: false },
    ]);
  });

  it('replayComplete is false after a delete newer than after', async () => {
    const after = await send('eve', 'a');
    const b = await send('eve', 'b');
    await send('eve', 'c');
    await t().run(DeleteNotificationsMutation, { ids: [b] }, asUser('eve'));
    const feed = await inboxFeed(t(), 'eve', after);
    expect((await feed.waitFor(2)).map(short)).toEqual([
      { n: 'c', count: 2 },
      { n: null, count: 2, complete: false },
    ]);
  });

  it('replayComplete is false after an expiry newer than after', async () => {
    const after = await send('fin', 'a');
    await send('fin', 'short', { ttlSeconds: 1 });
    await send('fin', 'c');
    t().clock.advance(1500);
    const feed = await inboxFeed(t(), 'fin', after);
    expect((await feed.waitFor(2)).map(short)).toEqual([
      { n: 'c', count: 2 },
      { n: null, count: 2, complete: false },
    ]);
  });

  it('replayComplete is false for a malformed or unknown after, and the stream goes on', async () => {
    await send('gus', 'a');
    for (const after of ['not-an-id', '', 'zzzzzzzzzzz']) {
      const feed = await inboxFeed(t(), 'gus', after);
      expect((await feed.waitFor(1)).map(short)).toEqual([{ n: null, count: 1, complete: false }]);
      feed.stop();
    }
    const feed = await inboxFeed(t(), 'gus', 'nope');
    await feed.waitFor(1);
    await send('gus', 'b');
    expect(short((await feed.waitFor(2))[1]!)).toEqual({ n: 'b', count: 2 });
  });

  it('replays saveOffline broadcasts under their id; live-only ones come live and never make replayComplete false', async () => {
    await t().run(UpsertUserMutation, { id: 'hal' }, SERVICE);
    const after = await send('hal', 'a');
    const bc = async (title: string, saveOffline: boolean) =>
      (await t().run(BroadcastMutation, { input: { type: 'system_announcement', title, body: '', saveOffline } }, SERVICE)).data!.broadcast.id;
    const stored = await bc('stored', true);
    await bc('missed live-only', false);
    const feed = await inboxFeed(t(), 'hal', after);
    const replay = await feed.waitFor(2);
    expect(replay.map(short)).toEqual([
      { n: 'stored', count: 2 },
      { n: null, count: 2, complete: true },
    ]);
    expect(replay[0]!.data!.inbox.notification).toMatchObject({ id: stored, broadcastId: stored });
    const liveOnly = await bc('live-only', false);
    const stored2 = await bc('stored 2', true);
    const got = await feed.waitFor(4);
    expect(got.map(short).slice(2)).toEqual([
      { n: 'live-only', count: 2 },
      { n: 'stored 2', count: 3 },
    ]);
    expect(got.slice(2).map((r) => r.data!.inbox.notification!.broadcastId)).toEqual([liveOnly, stored2]);
  });

  it('no query returns an expired item, and the one that notices the expiry tells every subscriber', async () => {
    const { ws } = await t().listen();
    const short1 = await send('ida', 'short', { ttlSeconds: 1 });
    await send('ida', 'long');
    const client = wsClient(ws, await t().token('ida')).client;
    const inbox = subscribe(client, InboxSubscription, {});
    const counts = subscribe(client, UnreadCountChangedSubscription, {});
    await inbox.waitFor(1);
    await counts.waitFor(1);
    t().clock.advance(1000);
    // nobody has touched the inbox yet, and still no query shows the expired one
    const page = await t().run(NotificationsQuery, { first: 10 }, asUser('ida'));
    expect(page.data!.notifications.edges.map((e) => e.node.title)).toEqual(['long']);
    expect(page.data!.notifications.unreadCount).toBe(1);
    expect((await inbox.waitFor(2)).map(short)).toEqual([
      { n: null, count: 2 },
      { n: null, count: 1, removed: [short1] },
    ]);
    expect((await counts.waitFor(2)).map((r) => r.data!.unreadCountChanged)).toEqual([2, 1]);
  });

  it('the sweeper alone settles a user whose notification expired and tells every subscriber', async () => {
    const { ws } = await t().listen();
    const s = await send('jo', 'short', { ttlSeconds: 1 });
    const client = wsClient(ws, await t().token('jo')).client;
    const inbox = subscribe(client, InboxSubscription, {});
    const counts = subscribe(client, UnreadCountChangedSubscription, {});
    await inbox.waitFor(1);
    await counts.waitFor(1);
    expect(await t().sweeper.sweep()).toBe(0); // nothing due yet
    t().clock.advance(1000);
    expect(await t().sweeper.sweep()).toBe(1);
    expect((await inbox.waitFor(2)).map(short)).toEqual([
      { n: null, count: 1 },
      { n: null, count: 0, removed: [s] },
    ]);
    expect((await counts.waitFor(2)).map((r) => r.data!.unreadCountChanged)).toEqual([1, 0]);
    expect(await t().sweeper.sweep()).toBe(0); // settled: not due again
  });
});

describe.each(BACKENDS)('inbox subscription over SSE (%s)', (backend) => {
  const t = useTestApp(backend, { clock: 'real' });
  const send = sender(t);

  it('replays after a cursor, ends the replay with the marker, then streams live events', async () => {
    const { http } = await t().listen();
    const after = await send('kim', 'old');
    await send('kim', 'missed');
    const feed = sseSubscribe(http, await t().token('kim'), InboxSubscription, { after });
    await feed.waitFor(2);
    const live = await send('kim', 'live');
    await t().run(MarkReadMutation, { ids: [live] }, asUser('kim'));
    await feed.waitFor(4);
    feed.stop();
    expect(feed.results.map(short)).toEqual([
      { n: 'missed', count: 2 },
      { n: null, count: 2, complete: true },
      { n: 'live', count: 3 },
      { n: null, count: 2, read: [live] },
    ]);
  });
});

describe('inbox subscription, two instances on one Redis', () => {
  const t = useTestApp('redis');
  const send = sender(t);

  it('a read on instance A reaches an inbox subscriber on instance B with the ids and the count', async () => {
    const a = await send('lou', 'a', { i: 0 });
    await send('lou', 'b', { i: 1 });
    const onB = await inboxFeed(t(1), 'lou');
    expect((await onB.waitFor(1)).map(short)).toEqual([{ n: null, count: 2 }]);
    await t(0).run(MarkReadMutation, { ids: [a] }, asUser('lou'));
    const c = await send('lou', 'c', { i: 0 });
    expect((await onB.waitFor(3)).map(short).slice(1)).toEqual([
      { n: null, count: 1, read: [a] },
      { n: 'c', count: 2 },
    ]);
    expect(c).toBeTruthy();
  });

  it("A's sweeper settles an expiry; subscribers on B hear it; B's sweeper finds nothing left to do", async () => {
    const s = await send('max', 'short', { ttlSeconds: 1 });
    await send('max', 'long');
    const { ws } = await t(1).listen();
    const client = wsClient(ws, await t(1).token('max')).client;
    const inbox = subscribe(client, InboxSubscription, {});
    const counts = subscribe(client, UnreadCountChangedSubscription, {});
    await inbox.waitFor(1);
    await counts.waitFor(1);
    t().clock.advance(1000);
    const [onA, onB] = await Promise.all([t(0).sweeper.sweep(), t(1).sweeper.sweep()]);
    expect(onA + onB).toBe(1); // leased: settled once
    expect((await inbox.waitFor(2)).map(short)).toEqual([
      { n: null, count: 2 },
      { n: null, count: 1, removed: [s] },
    ]);
    expect((await counts.waitFor(2)).map((r) => r.data!.unreadCountChanged)).toEqual([2, 1]);
  });
});

describe('inbox subscription clean-up (redis)', () => {
  const t = useTestApp('redis', { clock: 'real' });
  const redis = withRedis();
  const footprint = async () => {
    // user and broadcast channels are sharded ones: PUBSUB SHARDCHANNELS lists them
    const global = (await redis.pubsub('CHANNELS', `${t().prefix}*`)) as string[];
    const sharded = (await redis.call('PUBSUB', 'SHARDCHANNELS', `${t().prefix}*`)) as string[];
    const channels = [...global, ...sharded].sort();
    const { bus } = t().app.realtime as unknown as { bus: { subscriptionMap: Record<string, unknown> } };
    return { channels, busListeners: Object.keys(bus.subscriptionMap).length };
  };

  it('leaves no subscription or listener behind after 300 streams, stopped at every stage', async () => {
    const { ws } = await t().listen();
    const { client } = wsClient(ws, await t().token('churn'));
    const steady = subscribe(client, InboxSubscription, {});
    await steady.waitFor(1);
    const before = await footprint();
    // the steady stream's two, and the dashboard channel every instance listens to
    expect(before.channels).toHaveLength(3);
    for (let i = 0; i < 300; i++) {
      const f = subscribe(client, InboxSubscription, i % 2 ? { after: '00000000000' } : {});
      if (i % 3 === 0) await f.waitFor(1); // attached (or the marker)
      else if (i % 3 === 1) await new Promise((r) => setTimeout(r, 1)); // mid-snapshot, maybe
      f.stop();
    }
    for (let i = 0; i < 50 && JSON.stringify(await footprint()) !== JSON.stringify(before); i++) await new Promise((r) => setTimeout(r, 20));
    expect(await footprint()).toEqual(before);
    await sender(t)('churn', 'still there');
    expect(short((await steady.waitFor(2))[1]!)).toEqual({ n: 'still there', count: 1 });
  });
});

describe.each(BACKENDS)('counts follow real time (%s)', (backend) => {
  const t = useTestApp(backend, { clock: 'real', sweeper: { intervalMs: 1000 } });
  const send = sender(t);

  it('a live subscriber sees the count drop within 5 s of the expiry, with nobody touching the inbox', async () => {
    const { ws } = await t().listen();
    const client = wsClient(ws, await t().token('ned')).client;
    const counts = subscribe(client, UnreadCountChangedSubscription, {});
    const inbox = subscribe(client, InboxSubscription, {});
    await counts.waitFor(1);
    await inbox.waitFor(1);
    const s = await send('ned', 'short', { ttlSeconds: 1 });
    const expiresAt = Date.now() + 1000;
    await counts.waitFor(2);
    await inbox.waitFor(2);
    await counts.waitFor(3, 1000 + 5000);
    await inbox.waitFor(3, 1000);
    const lag = Date.now() - expiresAt;
    expect(lag).toBeLessThan(5000);
    expect(counts.results.map((r) => r.data!.unreadCountChanged)).toEqual([0, 1, 0]);
    expect(short(inbox.results[2]!)).toEqual({ n: null, count: 0, removed: [s] });
  });
});
