import { describe, expect, it } from 'vitest';
import {
  BroadcastMutation,
  DeleteNotificationsMutation,
  MarkReadMutation,
  MarkUnreadMutation,
  MeQuery,
  NodeQuery,
  NotificationQuery,
  NotificationsQuery,
  NotificationTypesQuery,
  SendNotificationMutation,
  SetNotificationTypePolicyMutation,
  TemplatesQuery,
  UpsertTemplateMutation,
  UpsertUserMutation,
  UserQuery,
} from '../src/client/operations.js';
import { ADMIN, BACKENDS, SERVICE, asUser, codes, useTestApp } from './helpers/app.js';

describe.each(BACKENDS)('authorization (%s)', (backend) => {
  const t = useTestApp(backend);

  async function aliceHasOne() {
    const r = await t().run(SendNotificationMutation, { input: { userIds: ['alice'], type: 'task_assigned', title: 'secret', body: 'for alice' } }, SERVICE);
    return r.data!.sendNotification.notifications[0]!.id;
  }

  it('a user never reads another user’s notifications, through any field', async () => {
    const id = await aliceHasOne();
    const mallory = asUser('mallory');
    expect((await t().run(NotificationsQuery, {}, mallory)).data!.notifications).toMatchObject({ totalCount: 0, unreadCount: 0, edges: [] });
    expect((await t().run(NotificationQuery, { id }, mallory)).data!.notification).toBeNull();
    expect((await t().run(NodeQuery, { id }, mallory)).data!.node).toBeNull();
    expect((await t().run(MeQuery, {}, mallory)).data!.me).toMatchObject({ id: 'mallory', unreadCount: 0 });
    expect(codes(await t().run(UserQuery, { id: 'alice' }, mallory))).toEqual(['FORBIDDEN']);
  });

  it('a user never changes another user’s notifications, through any field', async () => {
    const id = await aliceHasOne();
    const mallory = asUser('mallory');
    expect((await t().run(MarkReadMutation, { ids: [id] }, mallory)).data!.markRead).toEqual([]);
    expect((await t().run(MarkUnreadMutation, { ids: [id] }, mallory)).data!.markUnread).toEqual([]);
    expect((await t().run(DeleteNotificationsMutation, { ids: [id] }, mallory)).data!.deleteNotifications).toBe(0);
    const alice = (await t().run(NotificationsQuery, {}, asUser('alice'))).data!.notifications;
    expect(alice.edges.map((e) => [e.node.id, e.node.read])).toEqual([[id, false]]);
  });

  it('a user-role token cannot send, broadcast or administer', async () => {
    const u = asUser('alice');
    const calls = [
      t().run(SendNotificationMutation, { input: { userIds: ['bob'], type: 'x', title: 't', body: 'b' } }, u),
      t().run(BroadcastMutation, { input: { type: 'x', title: 't', body: 'b' } }, u),
      t().run(UpsertUserMutation, { id: 'bob' }, u),
      t().run(SetNotificationTypePolicyMutation, { type: 'x', ttlSeconds: 60 }, u),
      t().run(UpsertTemplateMutation, { input: { name: 'n', type: 'x', title: 't', body: 'b' } }, u),
      t().run(TemplatesQuery, {}, u),
    ];
    for (const r of await Promise.all(calls)) expect(codes(r)).toEqual(['FORBIDDEN']);
  });

  it('a service token sends but cannot administer, and has no inbox', async () => {
    expect(codes(await t().run(SetNotificationTypePolicyMutation, { type: 'x', ttlSeconds: 60 }, SERVICE))).toEqual(['FORBIDDEN']);
    expect(codes(await t().run(TemplatesQuery, {}, SERVICE))).toEqual(['FORBIDDEN']);
    expect(codes(await t().run(NotificationsQuery, {}, SERVICE))).toEqual(['FORBIDDEN']);
    expect((await t().run(UserQuery, { id: 'nobody' }, SERVICE)).data!.user).toBeNull();
    expect((await t().run(TemplatesQuery, {}, ADMIN)).data!.templates).toEqual([]);
  });

  it('no token is UNAUTHENTICATED; a bad token is UNAUTHENTICATED with a reason', async () => {
    expect(codes(await t().run(NotificationTypesQuery, {}, null))).toEqual(['UNAUTHENTICATED']);
    const forged = (await t().token('alice')).slice(0, -3) + 'abc';
    const r = await t().run(MeQuery, {}, forged);
    expect(codes(r)).toEqual(['UNAUTHENTICATED']);
    expect(r.data ?? null).toBeNull();
  });

  it('a token whose sub is not a valid user id is UNAUTHENTICATED', async () => {
    const { SignJWT } = await import('jose');
    const { SECRET } = await import('./helpers/app.js');
    const bad = await new SignJWT({ roles: ['user'] })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('a:b{c}')
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode(SECRET));
    expect(codes(await t().run(MeQuery, {}, bad))).toEqual(['UNAUTHENTICATED']);
  });
});
