import { describe, expect, it } from 'vitest';
import {
  BroadcastMutation,
  MarkReadMutation,
  NotificationReceivedSubscription,
  PublishMutation,
  SendNotificationMutation,
  TopicSubscription,
  UnreadCountChangedSubscription,
  UpdatePreferencesMutation,
  UpsertUserMutation,
} from '../src/client/operations.js';
import { BACKENDS, SERVICE, ADMIN, asUser, useTestApp, EVERY_BACKEND } from './helpers/app.js';
import { subscribe, untilListening, wsClient } from './helpers/ws.js';

describe.each(EVERY_BACKEND)('subscriptions over WebSocket (%s)', (backend) => {
  const t = useTestApp(backend, { clock: 'real' });
  const send = (userId: string, title: string, i = 0) =>
    t(i).run(SendNotificationMutation, { input: { userIds: [userId], type: 'task_assigned', title, body: '' } }, SERVICE);

  it('delivers a notification the moment it is sent', async () => {
    const { ws } = await t().listen();
    const { client } = wsClient(ws, await t().token('alice'));
    const feed = subscribe(client, NotificationReceivedSubscription, {});
    await untilListening(t().app, (ch) => ch.user('alice'));
    const sent = (await send('alice', 'hello')).data!.sendNotification.notifications[0]!;
    const [r] = await feed.waitFor(1);
    expect(r!.data!.notificationReceived).toMatchObject({ id: sent.id, title: 'hello', read: false, broadcastId: null });
  });

  it('with after, replays what the inbox holds newer than it, oldest first, then live', async () => {
    const { ws } = await t().listen();
    const ids: string[] = [];
    for (const title of ['a', 'b', 'c']) ids.push((await send('bob', title)).data!.sendNotification.notifications[0]!.id);
    const { client } = wsClient(ws, await t().token('bob'));
    const feed = subscribe(client, NotificationReceivedSubscription, { after: ids[0]! });
    await feed.waitFor(2);
    await send('bob', 'd');
    const got = await feed.waitFor(3);
    expect(got.map((r) => r.data!.notificationReceived.title)).toEqual(['b', 'c', 'd']);
  });

  it('delivers broadcasts to active recipients, filtered by their muted types', async () => {
    const { ws } = await t().listen();
    await t().run(UpsertUserMutation, { id: 'carol' }, SERVICE);
    await t().run(UpsertUserMutation, { id: 'dan' }, SERVICE);
    await t().run(UpdatePreferencesMutation, { input: { mutedTypes: ['marketing'] } }, asUser('dan'));
    const carol = subscribe(wsClient(ws, await t().token('carol')).client, NotificationReceivedSubscription, {});
    const dan = subscribe(wsClient(ws, await t().token('dan')).client, NotificationReceivedSubscription, {});
    await untilListening(t().app, (ch) => ch.user('carol'));
    await untilListening(t().app, (ch) => ch.user('dan'));
    const b1 = (await t().run(BroadcastMutation, { input: { type: 'marketing', title: 'sale', body: '' } }, SERVICE)).data!.broadcast;
    const b2 = (await t().run(BroadcastMutation, { input: { type: 'system_announcement', title: 'live only', body: '', saveOffline: false } }, SERVICE)).data!.broadcast;
    const c = await carol.waitFor(2);
    const d = await dan.waitFor(1);
    expect(c.map((r) => [r.data!.notificationReceived.id, r.data!.notificationReceived.broadcastId])).toEqual([[b1.id, b1.id], [b2.id, b2.id]]);
    expect(d.map((r) => r.data!.notificationReceived.title)).toEqual(['live only']);
  });

  it('streams the exact unread count after every change', async () => {
    const { ws } = await t().listen();
    await t().run(UpsertUserMutation, { id: 'erin' }, SERVICE);
    const id = (await send('erin', 'one')).data!.sendNotification.notifications[0]!.id;
    const feed = subscribe(wsClient(ws, await t().token('erin')).client, UnreadCountChangedSubscription, {});
    await feed.waitFor(1);
    await send('erin', 'two');
    await feed.waitFor(2);
    await t().run(MarkReadMutation, { ids: [id] }, asUser('erin'));
    await feed.waitFor(3);
    await t().run(BroadcastMutation, { input: { type: 'system_announcement', title: 'all', body: '' } }, SERVICE);
    const got = await feed.waitFor(4);
    expect(got.map((r) => r.data!.unreadCountChanged)).toEqual([1, 2, 1, 2]);
  });

  it('publishes topic events; users may subscribe but not publish; dashboard is admin-only', async () => {
    const { ws } = await t().listen();
    const userClient = wsClient(ws, await t().token('fay')).client;
    const feed = subscribe(userClient, TopicSubscription, { names: ['downloads', 'system'] });
    const dash = subscribe(userClient, TopicSubscription, { names: ['dashboard'] });
    await dash.ended;
    expect(dash.results.map((r) => r.errors?.[0]?.extensions?.code)).toEqual(['FORBIDDEN']);
    await untilListening(t().app, (ch) => ch.topic('system'));
    const pub = await t().run(PublishMutation, { topic: 'downloads', payload: { file: 'a.csv', pct: 50 } }, SERVICE);
    expect(pub.errors).toBeUndefined();
    const [r] = await feed.waitFor(1);
    expect(r!.data!.topic).toMatchObject({ topic: 'downloads', payload: { file: 'a.csv', pct: 50 } });
    const userPub = await t().run(PublishMutation, { topic: 'downloads', payload: 1 }, asUser('fay'));
    expect(userPub.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const big = await t().run(PublishMutation, { topic: 'downloads', payload: 'x'.repeat(17 * 1024) }, ADMIN);
    expect(big.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('closes the socket with 4403 for a missing or bad token', async () => {
    const { ws } = await t().listen();
    for (const token of [null, 'not-a-jwt']) {
      const { client, closed } = wsClient(ws, token);
      const feed = subscribe(client, NotificationReceivedSubscription, {});
      expect((await closed).code).toBe(4403);
      feed.stop();
    }
  });
});
