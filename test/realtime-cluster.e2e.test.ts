import { describe, expect, it } from 'vitest';
import {
  BroadcastMutation,
  NotificationReceivedSubscription,
  SendNotificationMutation,
  UnreadCountChangedSubscription,
  MarkReadMutation,
  UpsertUserMutation,
} from '../src/client/operations.js';
import { SERVICE, asUser, useTestApp, REDIS_BACKENDS } from './helpers/app.js';
import { subscribe, untilListening, wsClient } from './helpers/ws.js';

/** Two app instances on one Redis: any instance reaches any client. */
describe.each(REDIS_BACKENDS)('two instances on one Redis (%s)', (backend) => {
  const t = useTestApp(backend, { clock: 'real' });
  const send = (i: number, userId: string, title: string) =>
    t(i).run(SendNotificationMutation, { input: { userIds: [userId], type: 'task_assigned', title, body: '' } }, SERVICE);
  /** time for a stray duplicate to show up, where the test asserts there is none */
  const settle = () => new Promise((r) => setTimeout(r, 100));
  const listening = (user: string, instances = [0, 1]) =>
    Promise.all(instances.flatMap((i) => [untilListening(t(i).app, (ch) => ch.user(user)), untilListening(t(i).app, (ch) => ch.broadcastsOf(user))]));

  it('a send through A reaches a subscriber on B; a broadcast through B reaches clients on A', async () => {
    const b = await t(1).listen();
    const a = await t(0).listen();
    await t(0).run(UpsertUserMutation, { id: 'ann' }, SERVICE);
    const onB = subscribe(wsClient(b.ws, await t(1).token('ann')).client, NotificationReceivedSubscription, {});
    const onA = subscribe(wsClient(a.ws, await t(0).token('ann')).client, NotificationReceivedSubscription, {});
    await listening('ann');
    const sent = (await send(0, 'ann', 'via A')).data!.sendNotification.notifications[0]!;
    const bc = (await t(1).run(BroadcastMutation, { input: { type: 'system_announcement', title: 'via B', body: '' } }, SERVICE)).data!.broadcast;
    const gotB = await onB.waitFor(2);
    const gotA = await onA.waitFor(2);
    expect(gotB.map((r) => r.data!.notificationReceived.id)).toEqual([sent.id, bc.id]);
    expect(gotA.map((r) => r.data!.notificationReceived.id)).toEqual([sent.id, bc.id]);
  });

  it('the unread count reaches every device on every instance', async () => {
    const a = await t(0).listen();
    const b = await t(1).listen();
    const id = (await send(0, 'ben', 'one')).data!.sendNotification.notifications[0]!.id;
    const onA = subscribe(wsClient(a.ws, await t(0).token('ben')).client, UnreadCountChangedSubscription, {});
    const onB = subscribe(wsClient(b.ws, await t(1).token('ben')).client, UnreadCountChangedSubscription, {});
    await onA.waitFor(1);
    await onB.waitFor(1);
    await t(1).run(MarkReadMutation, { ids: [id] }, asUser('ben'));
    expect((await onA.waitFor(2)).map((r) => r.data!.unreadCountChanged)).toEqual([1, 0]);
    expect((await onB.waitFor(2)).map((r) => r.data!.unreadCountChanged)).toEqual([1, 0]);
  });

  it('a client that resumes with after on the other instance gets exactly what it missed', async () => {
    const a = await t(0).listen();
    const b = await t(1).listen();
    const first = wsClient(a.ws, await t(0).token('cy'));
    const feed = subscribe(first.client, NotificationReceivedSubscription, {});
    await listening('cy', [0]);
    await send(0, 'cy', 'seen-1');
    await send(1, 'cy', 'seen-2');
    const seen = await feed.waitFor(2);
    await first.client.dispose();
    for (const title of ['missed-1', 'missed-2', 'missed-3']) await send(1, 'cy', title);
    const after = seen.at(-1)!.data!.notificationReceived.id;
    const resumed = subscribe(wsClient(b.ws, await t(1).token('cy')).client, NotificationReceivedSubscription, { after });
    await resumed.waitFor(3);
    await send(0, 'cy', 'live');
    const got = await resumed.waitFor(4);
    await settle();
    expect(resumed.results.map((r) => r.data!.notificationReceived.title)).toEqual(['missed-1', 'missed-2', 'missed-3', 'live']);
    expect(got).toHaveLength(4);
  });
});
