import { describe, expect, it } from 'vitest';
import {
  BroadcastMutation,
  DeleteNotificationsMutation,
  MarkReadMutation,
  NotificationsQuery,
  SendNotificationMutation,
  SetNotificationTypePolicyMutation,
  UpdatePreferencesMutation,
  UpsertUserMutation,
} from '../src/client/operations.js';
import { ADMIN, SERVICE, asUser, useTestApp } from './helpers/app.js';

const base = { userIds: ['u1'], type: 'task_assigned', title: 'T', body: 'B' };

describe('bad input gets BAD_USER_INPUT naming the field', () => {
  const t = useTestApp('redis');

  const cases: [string, Record<string, unknown>, RegExp][] = [
    ['title too long', { title: 'x'.repeat(201) }, /^title: .*200/],
    ['title missing', { title: null }, /^title: is required/],
    ['body missing', { body: null }, /^body: /],
    ['body too long', { body: 'x'.repeat(5001) }, /^body: .*5000/],
    ['data over 16 KB', { data: { blob: 'x'.repeat(16 * 1024) } }, /^data: .*16384 bytes/],
    ['ttlSeconds 0', { ttlSeconds: 0 }, /^ttlSeconds: /],
    ['ttlSeconds over 30 d', { ttlSeconds: 30 * 86400 + 1 }, /^ttlSeconds: /],
    ['no userIds', { userIds: [] }, /^userIds: /],
    ['1001 userIds', { userIds: Array.from({ length: 1001 }, (_, i) => `u${i}`) }, /^userIds: at most 1000/],
    ['user id with a brace', { userIds: ['a}b'] }, /^userIds: /],
    ['user id of 129 chars', { userIds: ['x'.repeat(129)] }, /^userIds: /],
    ['type with spaces', { type: 'Task Assigned' }, /^type: /],
    ['type too long', { type: 'a'.repeat(65) }, /^type: /],
    ['dedupKey with spaces', { dedupKey: 'a b' }, /^dedupKey: /],
    ['an escalation of 0 s', { channels: ['WEBHOOK'], escalateAfterSeconds: 0 }, /^escalateAfterSeconds: /],
    ['an escalation not shorter than the TTL', { channels: ['WEBHOOK'], ttlSeconds: 60, escalateAfterSeconds: 60 }, /^escalateAfterSeconds: /],
    ['variables not an object', { template: 'x', title: null, body: null, variables: [1] }, /^template: no template|^variables: /],
  ];

  it.each(cases)('sendNotification: %s', async (_name, patch, message) => {
    const r = await t().run(SendNotificationMutation, { input: { ...base, ...patch } as any }, SERVICE);
    expect(r.errors?.[0]?.message).toMatch(message);
    expect(['BAD_USER_INPUT', 'NOT_FOUND']).toContain(r.errors?.[0]?.extensions?.code);
    expect(r.data ?? null).toBeNull();
  });

  it('nothing is stored by a rejected send', async () => {
    await t().run(SendNotificationMutation, { input: { ...base, title: 'x'.repeat(201) } }, SERVICE);
    const r = await t().run(NotificationsQuery, {}, asUser('u1'));
    expect(r.data!.notifications.totalCount).toBe(0);
  });

  it('a malformed sendAt is BAD_USER_INPUT', async () => {
    const r = await t().run(SendNotificationMutation, { input: { ...base, sendAt: 'tomorrow' } }, SERVICE);
    expect(r.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(r.errors?.[0]?.message).toMatch(/DateTime/);
  });

  it('broadcast, lists, ids, preferences, users and policies check their bounds', async () => {
    const expectBad = async (p: Promise<any>, field: RegExp) => {
      const r = await p;
      expect(r.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      expect(r.errors?.[0]?.message).toMatch(field);
    };
    await expectBad(t().run(BroadcastMutation, { input: { type: 'x', title: 'x'.repeat(201), body: '' } }, SERVICE), /^title: /);
    await expectBad(t().run(NotificationsQuery, { first: 101 }, asUser('u1')), /^first: /);
    await expectBad(t().run(NotificationsQuery, { first: -1 }, asUser('u1')), /^first: /);
    await expectBad(t().run(NotificationsQuery, { after: 'not-a-cursor' }, asUser('u1')), /^after: /);
    await expectBad(t().run(MarkReadMutation, { ids: ['../../etc'] }, asUser('u1')), /^ids: /);
    await expectBad(t().run(DeleteNotificationsMutation, { ids: Array(1001).fill('00000000001') }, asUser('u1')), /^ids: at most 1000/);
    await expectBad(t().run(UpdatePreferencesMutation, { input: { mutedTypes: ['BAD TYPE'] } }, asUser('u1')), /^mutedTypes: /);
    await expectBad(t().run(UpsertUserMutation, { id: 'x y' }, SERVICE), /^id: /);
    await expectBad(t().run(UpsertUserMutation, { id: 'ok', displayName: 'n'.repeat(201) }, SERVICE), /^displayName: /);
    await expectBad(t().run(SetNotificationTypePolicyMutation, { type: 'x', ttlSeconds: 0 }, ADMIN), /^ttlSeconds: /);
  });
});
