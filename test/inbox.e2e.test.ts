import { describe, expect, it } from 'vitest';
import {
  DeleteNotificationsMutation,
  MarkAllReadMutation,
  MarkReadMutation,
  MarkUnreadMutation,
  MeQuery,
  NodeQuery,
  NotificationQuery,
  NotificationTypesQuery,
  NotificationsQuery,
  SendNotificationMutation,
  SetNotificationTypePolicyMutation,
  UpdatePreferencesMutation,
  UpsertTemplateMutation,
} from '../src/client/operations.js';
import { ADMIN, BACKENDS, SERVICE, asUser, codes, useTestApp, EVERY_BACKEND } from './helpers/app.js';

const HOUR = 3600_000;

describe.each(EVERY_BACKEND)('inbox end to end (%s)', (backend) => {
  const t = useTestApp(backend, { cap: 50 });

  const send = (userIds: string[], extra: Record<string, unknown> = {}) =>
    t().run(SendNotificationMutation, { input: { userIds, type: 'task_assigned', title: 'T', body: 'B', ...extra } }, SERVICE);

  it('sends, lists newest first, and counts unread exactly', async () => {
    const r1 = await send(['alice'], { title: 'first' });
    const r2 = await send(['alice', 'bob'], { title: 'second', data: { taskId: 7 } });
    expect(r1.errors).toBeUndefined();
    expect(r2.data!.sendNotification.notifications.map((n) => n.recipient.id)).toEqual(['alice', 'bob']);
    const list = await t().run(NotificationsQuery, { first: 10 }, asUser('alice'));
    const edges = list.data!.notifications.edges;
    expect(edges.map((e) => e.node.title)).toEqual(['second', 'first']);
    expect(edges[0]!.node.data).toEqual({ taskId: 7 });
    expect(edges[0]!.cursor).toBe(edges[0]!.node.id);
    expect(edges[0]!.node.recipient).toEqual({ id: 'alice', displayName: null });
    expect(list.data!.notifications.totalCount).toBe(2);
    expect(list.data!.notifications.unreadCount).toBe(2);
    const me = await t().run(MeQuery, {}, asUser('alice'));
    expect(me.data!.me.unreadCount).toBe(2);
  });

  it('applies the TTL tier of each type, and ttlSeconds overrides it', async () => {
    const tiers: Record<string, number> = {
      work_end_reminder: 12 * HOUR,
      task_assigned: 72 * HOUR,
      task_completed: 24 * HOUR,
      task_due_soon: 48 * HOUR,
      article_assigned: 72 * HOUR,
      article_reviewed: 24 * HOUR,
      system_announcement: 168 * HOUR,
      urgent: 6 * HOUR,
      something_else: 168 * HOUR,
    };
    for (const [type, ttl] of Object.entries(tiers)) {
      const r = await send(['tia'], { type });
      const n = r.data!.sendNotification.notifications[0]!;
      expect([type, Date.parse(n.expiresAt) - Date.parse(n.createdAt)]).toEqual([type, ttl]);
    }
    const o = await send(['tia'], { ttlSeconds: 90 });
    const n = o.data!.sendNotification.notifications[0]!;
    expect(Date.parse(n.expiresAt) - Date.parse(n.createdAt)).toBe(90_000);
    const types = await t().run(NotificationTypesQuery, {}, asUser('tia'));
    expect(types.data!.notificationTypes.find((p) => p.type === 'urgent')).toMatchObject({ ttlSeconds: 21600, defaultPriority: 'URGENT' });
  });

  it('an admin policy changes the TTL of later sends', async () => {
    const p = await t().run(SetNotificationTypePolicyMutation, { type: 'task_assigned', ttlSeconds: 60, description: 'short' }, ADMIN);
    expect(p.data!.setNotificationTypePolicy).toMatchObject({ ttlSeconds: 60, dedupWindowSeconds: 86400, description: 'short' });
    const n = (await send(['pat'])).data!.sendNotification.notifications[0]!;
    expect(Date.parse(n.expiresAt) - Date.parse(n.createdAt)).toBe(60_000);
  });

  it('never shows expired notifications, in lists, lookups or counts', async () => {
    const short = (await send(['eve'], { type: 'urgent', title: 'soon gone' })).data!.sendNotification.notifications[0]!;
    await send(['eve'], { type: 'task_completed', title: 'stays a day' });
    t().clock.advance(6 * HOUR);
    const list = await t().run(NotificationsQuery, {}, asUser('eve'));
    expect(list.data!.notifications.edges.map((e) => e.node.title)).toEqual(['stays a day']);
    expect(list.data!.notifications.unreadCount).toBe(1);
    expect((await t().run(NotificationQuery, { id: short.id }, asUser('eve'))).data!.notification).toBeNull();
    expect((await t().run(MeQuery, {}, asUser('eve'))).data!.me.unreadCount).toBe(1);
    t().clock.advance(18 * HOUR);
    expect((await t().run(MeQuery, {}, asUser('eve'))).data!.me.unreadCount).toBe(0);
  });

  it('stores one notification for 50 concurrent identical sends with a dedup key', async () => {
    const results = await Promise.all(Array.from({ length: 50 }, () => send(['dee'], { dedupKey: 'task-42' })));
    const stored = results.flatMap((r) => r.data!.sendNotification.notifications);
    const skipped = results.flatMap((r) => r.data!.sendNotification.deduplicated);
    expect(stored).toHaveLength(1);
    expect(skipped).toEqual(Array(49).fill('dee'));
    expect((await t().run(NotificationsQuery, {}, asUser('dee'))).data!.notifications.totalCount).toBe(1);
    t().clock.advance(24 * HOUR);
    expect((await send(['dee'], { dedupKey: 'task-42' })).data!.sendNotification.notifications).toHaveLength(1);
  });

  it('pages with first/after without gaps or duplicates, and filters', async () => {
    for (let i = 0; i < 7; i++) await send(['pam'], { title: `n${i}`, priority: i % 2 ? 'HIGH' : 'LOW', type: i < 4 ? 'task_assigned' : 'task_due_soon' });
    const seen: string[] = [];
    let after: string | null = null;
    for (;;) {
      const page: any = await t().run(NotificationsQuery, { first: 3, after }, asUser('pam'));
      const c = page.data.notifications;
      seen.push(...c.edges.map((e: any) => e.node.title));
      expect(c.pageInfo.hasPreviousPage).toBe(after !== null);
      if (!c.pageInfo.hasNextPage) break;
      after = c.pageInfo.endCursor;
    }
    expect(seen).toEqual(['n6', 'n5', 'n4', 'n3', 'n2', 'n1', 'n0']);
    const high = await t().run(NotificationsQuery, { filter: { minPriority: 'HIGH' } }, asUser('pam'));
    expect(high.data!.notifications.edges.map((e) => e.node.title)).toEqual(['n5', 'n3', 'n1']);
    const due = await t().run(NotificationsQuery, { first: 2, filter: { types: ['task_due_soon'] } }, asUser('pam'));
    expect(due.data!.notifications.edges.map((e) => e.node.title)).toEqual(['n6', 'n5']);
    expect(due.data!.notifications).toMatchObject({ totalCount: 3, unreadCount: 3, pageInfo: { hasNextPage: true } });
    const ids = (await t().run(NotificationsQuery, { first: 2 }, asUser('pam'))).data!.notifications.edges.map((e) => e.node.id);
    await t().run(MarkReadMutation, { ids }, asUser('pam'));
    const unread = await t().run(NotificationsQuery, { filter: { unreadOnly: true } }, asUser('pam'));
    expect(unread.data!.notifications.edges.map((e) => e.node.title)).toEqual(['n4', 'n3', 'n2', 'n1', 'n0']);
    expect(unread.data!.notifications).toMatchObject({ totalCount: 5, unreadCount: 5 });
  });

  it('keeps the newest 50, and what the cap pushed out never comes back', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 53; i++) ids.push((await send(['cap'], { title: `c${i}` })).data!.sendNotification.notifications[0]!.id);
    const list = await t().run(NotificationsQuery, { first: 100 }, asUser('cap'));
    expect(list.data!.notifications.totalCount).toBe(50);
    expect(list.data!.notifications.edges.at(-1)!.node.title).toBe('c3');
    await t().run(DeleteNotificationsMutation, { ids: ids.slice(40) }, asUser('cap'));
    const after = await t().run(NotificationsQuery, { first: 100 }, asUser('cap'));
    expect(after.data!.notifications.totalCount).toBe(37);
    expect(after.data!.notifications.edges.at(-1)!.node.title).toBe('c3');
  });

  it('marks read and unread, all read, and deletes', async () => {
    const ns = (await send(['rita', 'rita2'])).data!.sendNotification.notifications;
    const mine = ns.find((n) => n.recipient.id === 'rita')!;
    await send(['rita']);
    const read = await t().run(MarkReadMutation, { ids: [mine.id] }, asUser('rita'));
    expect(read.data!.markRead).toEqual([{ id: mine.id, read: true, readAt: new Date(t().clock.now).toISOString() }]);
    expect((await t().run(MeQuery, {}, asUser('rita'))).data!.me.unreadCount).toBe(1);
    const unread = await t().run(MarkUnreadMutation, { ids: [mine.id] }, asUser('rita'));
    expect(unread.data!.markUnread).toEqual([{ id: mine.id, read: false, readAt: null }]);
    expect((await t().run(MarkAllReadMutation, {}, asUser('rita'))).data!.markAllRead).toBe(2);
    expect((await t().run(MarkAllReadMutation, {}, asUser('rita'))).data!.markAllRead).toBe(0);
    expect((await t().run(DeleteNotificationsMutation, { ids: [mine.id, mine.id] }, asUser('rita'))).data!.deleteNotifications).toBe(1);
    expect((await t().run(NotificationsQuery, {}, asUser('rita'))).data!.notifications.totalCount).toBe(1);
  });

  it('does not store muted types and reports them', async () => {
    const prefs = await t().run(UpdatePreferencesMutation, { input: { mutedTypes: ['task_completed'], channels: [{ type: '*', channels: ['WEBHOOK'] }] } }, asUser('mo'));
    expect(prefs.data!.updatePreferences).toEqual({ mutedTypes: ['task_completed'], channels: [{ type: '*', channels: ['WEBHOOK'] }] });
    const r = await send(['mo', 'max'], { type: 'task_completed' });
    expect(r.data!.sendNotification.muted).toEqual(['mo']);
    expect(r.data!.sendNotification.notifications.map((n) => n.recipient.id)).toEqual(['max']);
    expect((await t().run(MeQuery, {}, asUser('mo'))).data!.me).toMatchObject({ unreadCount: 0, preferences: { mutedTypes: ['task_completed'] } });
  });

  it('renders templates, and a missing variable is BAD_USER_INPUT', async () => {
    const tpl = await t().run(UpsertTemplateMutation, { input: { name: 'assigned', type: 'task_assigned', title: 'Task {{task}}', body: 'Hi {{name}}, {{ task }} is yours' } }, ADMIN);
    expect(tpl.errors).toBeUndefined();
    const ok = await send(['tom'], { title: undefined, body: undefined, template: 'assigned', variables: { task: 'T-1', name: 'Tom' } });
    expect(ok.data!.sendNotification.notifications[0]).toMatchObject({ title: 'Task T-1', body: 'Hi Tom, T-1 is yours' });
    const bad = await send(['tom'], { title: undefined, body: undefined, template: 'assigned', variables: { task: 'T-1' } });
    expect(codes(bad)).toEqual(['BAD_USER_INPUT']);
    expect(bad.errors![0]!.message).toMatch(/variable "name"/);
    const missing = await send(['tom'], { title: undefined, body: undefined, template: 'nope' });
    expect(codes(missing)).toEqual(['NOT_FOUND']);
  });

  it('resolves node() to the caller’s own notification only', async () => {
    const n = (await send(['nina'])).data!.sendNotification.notifications[0]!;
    expect((await t().run(NodeQuery, { id: n.id }, asUser('nina'))).data!.node).toEqual({ id: n.id, __typename: 'Notification' });
    expect((await t().run(NodeQuery, { id: n.id }, asUser('other'))).data!.node).toBeNull();
  });
});
