import { describe, expect, it } from 'vitest';
import {
  BroadcastMutation,
  DeleteNotificationsMutation,
  MarkReadMutation,
  MeQuery,
  NotificationsQuery,
  SendNotificationMutation,
  UpdatePreferencesMutation,
  UpsertUserMutation,
} from '../src/client/operations.js';
import { BACKENDS, SERVICE, asUser, useTestApp, EVERY_BACKEND } from './helpers/app.js';

describe.each(EVERY_BACKEND)('broadcasts end to end (%s)', (backend) => {
  const t = useTestApp(backend, { cap: 5 });
  const users = (ids: string[]) => Promise.all(ids.map((id) => t().run(UpsertUserMutation, { id, displayName: id.toUpperCase() }, SERVICE)));
  const broadcast = (extra: Record<string, unknown> = {}) =>
    t().run(BroadcastMutation, { input: { type: 'system_announcement', title: 'Maintenance', body: 'tonight', ...extra } }, SERVICE);
  const titles = async (user: string) =>
    (await t().run(NotificationsQuery, { first: 50 }, asUser(user))).data!.notifications.edges.map((e) => e.node.title);

  it('reaches every active user, online or not, under the broadcast id', async () => {
    await users(['a', 'b', 'c']);
    const b = await broadcast();
    expect(b.data!.broadcast).toMatchObject({ saveOffline: true, recipients: 3, muted: 0, deduplicated: 0 });
    const id = b.data!.broadcast.id;
    for (const u of ['a', 'b', 'c']) {
      const page = (await t().run(NotificationsQuery, {}, asUser(u))).data!.notifications;
      expect(page.edges.map((e) => [e.node.id, e.node.broadcastId, e.node.recipient.displayName])).toEqual([[id, id, u.toUpperCase()]]);
      expect(page.unreadCount).toBe(1);
    }
  });

  it('read and delete touch only that user’s view', async () => {
    await users(['a', 'b']);
    const id = (await broadcast()).data!.broadcast.id;
    await t().run(MarkReadMutation, { ids: [id] }, asUser('a'));
    expect((await t().run(MeQuery, {}, asUser('a'))).data!.me.unreadCount).toBe(0);
    expect((await t().run(MeQuery, {}, asUser('b'))).data!.me.unreadCount).toBe(1);
    expect((await t().run(DeleteNotificationsMutation, { ids: [id] }, asUser('b'))).data!.deleteNotifications).toBe(1);
    expect(await titles('b')).toEqual([]);
    expect(await titles('a')).toEqual(['Maintenance']);
  });

  it('counts muted users and skips them; repeats inside the dedup window store nothing', async () => {
    await users(['a', 'b', 'c']);
    await t().run(UpdatePreferencesMutation, { input: { mutedTypes: ['system_announcement'] } }, asUser('c'));
    const first = await broadcast({ dedupKey: 'maint-1' });
    expect(first.data!.broadcast).toMatchObject({ recipients: 2, muted: 1, deduplicated: 0 });
    const again = await broadcast({ dedupKey: 'maint-1' });
    expect(again.data!.broadcast).toMatchObject({ recipients: 0, muted: 0, deduplicated: 3 });
    expect(await titles('a')).toEqual(['Maintenance']);
    expect(await titles('c')).toEqual([]);
    t().clock.advance(24 * 3600_000);
    expect((await broadcast({ dedupKey: 'maint-1' })).data!.broadcast.recipients).toBe(2);
  });

  it('saveOffline:false stores nothing', async () => {
    await users(['a']);
    const b = await broadcast({ saveOffline: false });
    expect(b.data!.broadcast).toMatchObject({ saveOffline: false, recipients: 0 });
    expect(await titles('a')).toEqual([]);
  });

  it('reaches exactly the users active when it commits', async () => {
    await users(['early', 'leaver']);
    await t().run(UpsertUserMutation, { id: 'leaver', active: false }, SERVICE);
    const b1 = await broadcast({ title: 'one' });
    expect(b1.data!.broadcast.recipients).toBe(1);
    await users(['late']);
    await t().run(UpsertUserMutation, { id: 'leaver', active: true }, SERVICE);
    await broadcast({ title: 'two' });
    expect(await titles('early')).toEqual(['two', 'one']);
    expect(await titles('late')).toEqual(['two']);
    expect(await titles('leaver')).toEqual(['two']);
  });

  it('a re-activated user keeps what it had but gets nothing issued while inactive', async () => {
    await users(['u']);
    await broadcast({ title: 'before' });
    await t().run(UpsertUserMutation, { id: 'u', active: false }, SERVICE);
    await broadcast({ title: 'while away' });
    // A user-role call does not re-activate: only upsertUser(active: true) does.
    expect((await t().run(MeQuery, {}, asUser('u'))).data!.me.active).toBe(false);
    await broadcast({ title: 'still away' });
    await t().run(UpsertUserMutation, { id: 'u', active: true }, SERVICE);
    await broadcast({ title: 'back' });
    expect(await titles('u')).toEqual(['back', 'before']);
  });

  it('shares the cap with own notifications, as if copied at commit', async () => {
    await users(['k']);
    const send = (title: string) => t().run(SendNotificationMutation, { input: { userIds: ['k'], type: 'task_assigned', title, body: '' } }, SERVICE);
    for (const x of ['o1', 'o2', 'o3', 'o4']) await send(x);
    await broadcast({ title: 'b1' });
    await broadcast({ title: 'b2' });
    await send('o5');
    // cap 5: o1 was pushed out by b2 while k was away; it must not come back after deletes.
    expect(await titles('k')).toEqual(['o5', 'b2', 'b1', 'o4', 'o3']);
    const ids = (await t().run(NotificationsQuery, { first: 2 }, asUser('k'))).data!.notifications.edges.map((e) => e.node.id);
    await t().run(DeleteNotificationsMutation, { ids }, asUser('k'));
    expect(await titles('k')).toEqual(['b1', 'o4', 'o3']);
  });

  it('expires broadcasts by their TTL', async () => {
    await users(['x']);
    await broadcast({ type: 'urgent', title: 'short' });
    await broadcast({ title: 'long' });
    t().clock.advance(6 * 3600_000);
    expect(await titles('x')).toEqual(['long']);
    expect((await t().run(MeQuery, {}, asUser('x'))).data!.me.unreadCount).toBe(1);
  });
});
