import { describe, expect, it } from 'vitest';
import { NotificationReceivedSubscription, SendNotificationMutation, UnreadCountChangedSubscription } from '../src/client/operations.js';
import { BACKENDS, SERVICE, useTestApp } from './helpers/app.js';
import { sseSubscribe } from './helpers/sse.js';

describe.each(BACKENDS)('subscriptions over SSE (%s)', (backend) => {
  const t = useTestApp(backend, { clock: 'real' });
  const send = (userId: string, title: string) =>
    t().run(SendNotificationMutation, { input: { userIds: [userId], type: 'task_assigned', title, body: '' } }, SERVICE);

  it('replays after a cursor, then streams live notifications', async () => {
    const { http } = await t().listen();
    const first = (await send('sam', 'old')).data!.sendNotification.notifications[0]!.id;
    await send('sam', 'missed');
    const feed = sseSubscribe(http, await t().token('sam'), NotificationReceivedSubscription, { after: first });
    await feed.waitFor(1);
    await send('sam', 'live');
    await feed.waitFor(2);
    feed.stop();
    expect(feed.results.map((r) => r.data!.notificationReceived.title)).toEqual(['missed', 'live']);
  });

  it('streams the unread count with the token from the Authorization header', async () => {
    const { http } = await t().listen();
    const feed = sseSubscribe(http, await t().token('sue'), UnreadCountChangedSubscription, {});
    await feed.waitFor(1);
    await send('sue', 'one');
    await feed.waitFor(2);
    feed.stop();
    expect(feed.results.map((r) => r.data!.unreadCountChanged)).toEqual([0, 1]);
  });

  it('ends a subscription when its token expires', async () => {
    const { http } = await t().listen();
    const feed = sseSubscribe(http, await t().token('tim', ['user'], '1s'), UnreadCountChangedSubscription, {});
    await feed.waitFor(2, 4000);
    await feed.done;
    expect(feed.results.map((r) => r.errors?.[0]?.extensions?.code ?? r.data?.unreadCountChanged)).toEqual([0, 'UNAUTHENTICATED']);
  });
});
