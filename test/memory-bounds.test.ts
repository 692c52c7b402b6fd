/**
 * The embedded memory backend can't be run out of memory by clients: users and notifications
 * are bounded (MEMORY_MAX_USERS, MEMORY_MAX_NOTIFICATIONS), inboxes by INBOX_CAP; what goes
 * beyond is refused with RESOURCE_EXHAUSTED, whole, and the server keeps serving.
 */
import { describe, expect, it } from 'vitest';
import { DeleteNotificationsMutation, NotificationsQuery, SendNotificationMutation, UpsertUserMutation } from '../src/client/operations.js';
import { SERVICE, asUser, codes, useTestApp } from './helpers/app.js';

const send = (userIds: string[], title = 't') => ({ input: { userIds, type: 'bounds', title, body: '' } });

describe('memory backend bounds', () => {
  const t = useTestApp('memory', { cap: 5, memory: { maxUsers: 3, maxNotifications: 8 } });

  it('MEMORY_MAX_USERS: a send, upsert or new token that would create one user too many is RESOURCE_EXHAUSTED; known users go on', async () => {
    expect(codes(await t().run(SendNotificationMutation, send(['a', 'b']), SERVICE))).toEqual([]);
    // Refused whole: neither c nor d is created.
    expect(codes(await t().run(SendNotificationMutation, send(['c', 'd']), SERVICE))).toEqual(['RESOURCE_EXHAUSTED']);
    expect(codes(await t().run(UpsertUserMutation, { id: 'c', displayName: 'C' }, SERVICE))).toEqual([]);
    expect(codes(await t().run(UpsertUserMutation, { id: 'd', displayName: 'D' }, SERVICE))).toEqual(['RESOURCE_EXHAUSTED']);
    expect(codes(await t().run(NotificationsQuery, { first: 10 }, asUser('e')))).toEqual(['RESOURCE_EXHAUSTED']);
    const a = await t().run(NotificationsQuery, { first: 10 }, asUser('a'));
    expect(a.errors).toBeUndefined();
    expect(a.data!.notifications.totalCount).toBe(1);
  });

  it('MEMORY_MAX_NOTIFICATIONS: a send beyond the total is RESOURCE_EXHAUSTED, whole; room comes back as inboxes drop items', async () => {
    for (let i = 0; i < 4; i++) expect(codes(await t().run(SendNotificationMutation, send(['a', 'b'], `n${i}`), SERVICE))).toEqual([]);
    // 8 held: one more for anyone is refused, and nothing of it is stored.
    const r = await t().run(SendNotificationMutation, send(['c']), SERVICE);
    expect(codes(r)).toEqual(['RESOURCE_EXHAUSTED']);
    expect(r.errors![0]!.message).toMatch(/at most 8 notifications/);
    expect((await t().run(NotificationsQuery, { first: 10 }, asUser('c'))).data!.notifications.totalCount).toBe(0);
    // INBOX_CAP (5) bounds each inbox; a user past it makes no room. Deleting does.
    expect(codes(await t().run(SendNotificationMutation, send(['a']), SERVICE))).toEqual(['RESOURCE_EXHAUSTED']);
    const ids = (await t().run(NotificationsQuery, { first: 10 }, asUser('a'))).data!.notifications.edges.map((e) => e.node.id);
    expect(codes(await t().run(DeleteNotificationsMutation, { ids: ids.slice(0, 2) }, asUser('a')))).toEqual([]);
    expect(codes(await t().run(SendNotificationMutation, send(['c']), SERVICE))).toEqual([]);
  });
});
