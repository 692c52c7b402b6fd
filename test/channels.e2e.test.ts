/**
 * Deliveries beyond the app, end to end: GraphQL in, the outbox worker, real HTTP out to fake
 * providers on 127.0.0.1 (test/helpers/fake-providers.ts), on both backends.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  DeleteNotificationsMutation,
  DeliveriesQuery,
  DeliveryLogQuery,
  MarkReadMutation,
  NodeQuery,
  RemoveChannelAddressMutation,
  RetryDeliveryMutation,
  SendNotificationMutation,
  SetChannelAddressMutation,
  UpdatePreferencesMutation,
} from '../src/client/operations.js';
import type { Channel } from '../src/client/gql/graphql.js';
import type { DeliveryConfig } from '../src/config.js';
import { ADMIN, BACKENDS, SERVICE, asUser, codes, useTestApp, type TestApp } from './helpers/app.js';
import { startFakeTelegram, startFakeWecom, startWebhookReceiver, telegramError, type FakeWebhookReceiver } from './helpers/fake-providers.js';

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0)) await c();
});
async function receiver(): Promise<FakeWebhookReceiver> {
  const r = await startWebhookReceiver();
  closers.push(() => r.close());
  return r;
}

/** Polls `read` until `done` holds (liveness bound only). */
async function eventually<T>(read: () => Promise<T>, done: (v: T) => boolean, timeoutMs = 5000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await read();
    if (done(v)) return v;
    if (Date.now() > until) throw new Error(`condition not met within ${timeoutMs} ms; last: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function optIn(t: TestApp, userId: string, channel: Channel, address: string): Promise<string | null> {
  const set = await t.run(SetChannelAddressMutation, { userId, input: { channel, address } }, asUser(userId));
  expect(set.errors).toBeUndefined();
  const prefs = await t.run(UpdatePreferencesMutation, { input: { channels: [{ type: '*', channels: [channel] }] } }, asUser(userId));
  expect(prefs.errors).toBeUndefined();
  return set.data!.setChannelAddress.webhookSecret ?? null;
}

async function send(t: TestApp, userId: string, channels: Channel[], extra: { escalateAfterSeconds?: number } = {}) {
  const r = await t.run(SendNotificationMutation, { input: { userIds: [userId], type: 'task_assigned', title: 'Review PR 7', body: 'please', channels, ...extra } }, SERVICE);
  expect(r.errors).toBeUndefined();
  return r.data!.sendNotification.notifications[0]!.id;
}

const deliveries = (t: TestApp, id: string, as: Parameters<TestApp['run']>[2] = SERVICE) => t.run(DeliveriesQuery, { notificationId: id }, as);
const statusOf = async (t: TestApp, id: string) => (await deliveries(t, id)).data?.deliveries.map((d) => d.status).join(',');

for (const backend of BACKENDS) {
  describe(`channels: ${backend}`, () => {
    const app = useTestApp(backend, { clock: 'real', outbox: {} });

    it('delivers a webhook signed with the address\'s own secret, shown once and masked after', async () => {
      const t = app();
      const r = await receiver();
      const secret = await optIn(t, 'ann', 'WEBHOOK', r.at('/hooks/ann-private-path'));
      expect(secret).toMatch(/^whsec_/);
      r.addSecret(secret!);
      const id = await send(t, 'ann', ['IN_APP', 'WEBHOOK']);
      await r.waitForAccepted(1);
      const got = r.accepted[0]!;
      expect(got.verified).toBe(true);
      expect(got.id).toBe(`${id}-w`);
      expect(JSON.parse(got.body)).toMatchObject({ type: 'notification.created', data: { id, userId: 'ann', type: 'task_assigned', title: 'Review PR 7', body: 'please' } });
      const [d] = (await eventually(() => deliveries(t, id), (x) => x.data?.deliveries[0]?.status === 'DELIVERED')).data!.deliveries;
      expect(d).toMatchObject({ id: `${id}-w`, channel: 'WEBHOOK', status: 'DELIVERED', attempts: 1, lastError: null });
      expect(d!.deliveredAt).not.toBeNull();
      // The recipient sees its own deliveries; the address comes back masked, never the secret.
      expect((await deliveries(t, id, asUser('ann'))).data!.deliveries).toHaveLength(1);
      const again = await t.run(SetChannelAddressMutation, { userId: 'ann', input: { channel: 'WEBHOOK', address: r.at('/hooks/ann-private-path') } }, SERVICE);
      const shown = again.data!.setChannelAddress.user.channelAddresses[0]!.address;
      expect(shown).not.toContain('ann-private-path');
      expect(again.data!.setChannelAddress.webhookSecret).not.toBe(secret);
      // Outcomes and what the outbox keeps go to /metrics.
      const { body } = await t.app.metrics.render();
      expect(body).toContain('ntf_deliveries_total{channel="WEBHOOK",status="DELIVERED"} 1');
      expect(body).toContain('ntf_deliveries{status="DELIVERED"} 1');
    });

    it('retries a 5xx with the same webhook-id and a fresh signature, and honours 429 retry-after', async () => {
      const t = app();
      const r = await receiver();
      r.addSecret((await optIn(t, 'bob', 'WEBHOOK', r.at('/b')))!);
      r.failNext(1, { status: 503, body: 'busy' });
      r.failNext(1, { status: 429, headers: { 'retry-after': '1' } });
      const id = await send(t, 'bob', ['WEBHOOK']);
      await r.waitForAccepted(1, 8000);
      expect(r.requests.map((q) => q.id)).toEqual([`${id}-w`, `${id}-w`, `${id}-w`]);
      expect(new Set(r.requests.map((q) => q.signature)).size).toBe(3);
      // The 429 asked for a second: the third attempt came no sooner.
      expect(Number(r.requests[2]!.timestamp) - Number(r.requests[1]!.timestamp)).toBeGreaterThanOrEqual(1);
      const d = (await eventually(() => deliveries(t, id), (x) => x.data?.deliveries[0]?.status === 'DELIVERED')).data!.deliveries[0]!;
      expect(d.attempts).toBe(3);
    });

    it('a permanent 4xx is a dead letter at once; retryDelivery puts it back and it is delivered', async () => {
      const t = app();
      const r = await receiver();
      r.addSecret((await optIn(t, 'cat', 'WEBHOOK', r.at('/c')))!);
      r.failNext(1, { status: 404, body: 'no such hook' });
      const id = await send(t, 'cat', ['WEBHOOK']);
      const failed = (await eventually(() => deliveries(t, id), (x) => x.data?.deliveries[0]?.status === 'FAILED')).data!.deliveries[0]!;
      expect(failed.attempts).toBe(1);
      expect(failed.lastError).toContain('404');
      const log = await t.run(DeliveryLogQuery, { first: 10, filter: { status: ['FAILED'] } }, ADMIN);
      expect(log.data!.deliveryLog.edges.map((e) => e.node.id)).toEqual([failed.id]);
      expect(log.data!.deliveryLog.totalCount).toBe(1);
      // Only an admin retries, and only a dead letter.
      expect(codes(await t.run(RetryDeliveryMutation, { id: failed.id }, SERVICE))).toEqual(['FORBIDDEN']);
      const back = await t.run(RetryDeliveryMutation, { id: failed.id }, ADMIN);
      expect(back.data!.retryDelivery).toMatchObject({ id: failed.id, status: 'PENDING', attempts: 0 });
      await r.waitForAccepted(1);
      expect(r.accepted[0]!.id).toBe(failed.id);
      await eventually(() => statusOf(t, id), (s) => s === 'DELIVERED');
      expect(codes(await t.run(RetryDeliveryMutation, { id: failed.id }, ADMIN))).toEqual(['BAD_USER_INPUT']);
      expect(codes(await t.run(RetryDeliveryMutation, { id: '00000000zzz-w' }, ADMIN))).toEqual(['NOT_FOUND']);
    });

    it('escalation: skipped when read in time, sent when not', async () => {
      const t = app();
      const r = await receiver();
      r.addSecret((await optIn(t, 'dan', 'WEBHOOK', r.at('/d')))!);
      const read = await send(t, 'dan', ['WEBHOOK'], { escalateAfterSeconds: 1 });
      const deleted = await send(t, 'dan', ['WEBHOOK'], { escalateAfterSeconds: 1 });
      const unread = await send(t, 'dan', ['WEBHOOK'], { escalateAfterSeconds: 1 });
      expect(await statusOf(t, read)).toBe('PENDING');
      await t.run(MarkReadMutation, { ids: [read] }, asUser('dan'));
      await t.run(DeleteNotificationsMutation, { ids: [deleted] }, asUser('dan'));
      await r.waitForAccepted(1, 8000);
      expect(r.accepted.map((a) => a.id)).toEqual([`${unread}-w`]);
      const skipped = (await eventually(() => deliveries(t, read), (x) => x.data?.deliveries[0]?.status === 'SKIPPED')).data!.deliveries[0]!;
      expect(skipped.lastError).toContain('read before escalation');
      const gone = (await eventually(() => deliveries(t, deleted), (x) => x.data?.deliveries[0]?.status === 'SKIPPED')).data!.deliveries[0]!;
      expect(gone.lastError).toContain('no longer in the inbox');
      expect(r.requests.some((q) => q.id === `${read}-w`)).toBe(false);
      // Escalation must come before the notification expires.
      const tooLate = await t.run(SendNotificationMutation, { input: { userIds: ['dan'], type: 'x', title: 't', body: '', ttlSeconds: 60, escalateAfterSeconds: 60, channels: ['WEBHOOK'] } }, SERVICE);
      expect(codes(tooLate)).toEqual(['BAD_USER_INPUT']);
    });

    it('routes through preferences and addresses: opted out and address-less channels are SKIPPED with the reason', async () => {
      const t = app();
      const r = await receiver();
      r.addSecret((await optIn(t, 'eve', 'WEBHOOK', r.at('/e')))!);
      const id = await send(t, 'eve', ['WEBHOOK', 'WECOM', 'TELEGRAM']);
      await r.waitForAccepted(1);
      const ds = (await eventually(() => deliveries(t, id), (x) => x.data?.deliveries.every((d) => d.status !== 'PENDING') ?? false)).data!.deliveries;
      expect(ds.map((d) => [d.channel, d.status])).toEqual([['WEBHOOK', 'DELIVERED'], ['TELEGRAM', 'SKIPPED'], ['WECOM', 'SKIPPED']]);
      expect(ds[1]!.lastError).toContain('preferences');
      // Without an address, even a wanted channel is skipped.
      await t.run(RemoveChannelAddressMutation, { userId: 'eve', channel: 'WEBHOOK' }, asUser('eve'));
      const later = await send(t, 'eve', ['WEBHOOK']);
      expect((await deliveries(t, later)).data!.deliveries[0]).toMatchObject({ status: 'SKIPPED', lastError: expect.stringContaining('no address') });
    });

    it("another user's deliveries are NOT_FOUND; addresses are the user's own or a service's to set", async () => {
      const t = app();
      const r = await receiver();
      await optIn(t, 'fay', 'WEBHOOK', r.at('/f'));
      const id = await send(t, 'fay', ['WEBHOOK']);
      expect(codes(await deliveries(t, id, asUser('gus')))).toEqual(['NOT_FOUND']);
      expect(codes(await deliveries(t, 'not-an-id', SERVICE))).toEqual(['NOT_FOUND']);
      expect((await t.run(NodeQuery, { id: `${id}-w` }, asUser('gus'))).data!.node).toBeNull();
      expect((await t.run(NodeQuery, { id: `${id}-w` }, asUser('fay'))).data!.node).toMatchObject({ __typename: 'Delivery' });
      expect(codes(await t.run(SetChannelAddressMutation, { userId: 'fay', input: { channel: 'WEBHOOK', address: r.at('/evil') } }, asUser('gus')))).toEqual(['FORBIDDEN']);
      expect(codes(await t.run(DeliveryLogQuery, { first: 5 }, SERVICE))).toEqual(['FORBIDDEN']);
      expect(codes(await t.run(SetChannelAddressMutation, { userId: 'fay', input: { channel: 'IN_APP', address: 'x' } }, SERVICE))).toEqual(['BAD_USER_INPUT']);
      expect(codes(await t.run(SetChannelAddressMutation, { userId: 'fay', input: { channel: 'TELEGRAM', address: 'not a chat' } }, SERVICE))).toEqual(['BAD_USER_INPUT']);
    });
  });
}

describe('channels: two instances on one Redis', () => {
  const app = useTestApp('redis', { clock: 'real', outbox: {} });

  it('share the outbox without sending any delivery twice', async () => {
    const [a, b] = [app(0), app(1)];
    const r = await receiver();
    r.addSecret((await optIn(a, 'joe', 'WEBHOOK', r.at('/j')))!);
    const ids: string[] = [];
    for (let i = 0; i < 40; i++) ids.push(await send(i % 2 ? a : b, 'joe', ['WEBHOOK']));
    await r.waitForAccepted(40, 10_000);
    expect(r.requests).toHaveLength(40);
    expect(r.duplicates).toBe(0);
    expect(r.accepted.map((x) => x.id).sort()).toEqual(ids.map((id) => `${id}-w`).sort());
  });
});

describe('channels: providers and address rules', () => {
  let settings: Partial<DeliveryConfig> = {};
  const app = useTestApp('redis', { clock: 'real', outbox: () => settings });

  it('Telegram: sent through the Bot API, a 429 waits its retry_after; WeCom: sent to the robot', async () => {
    const tg = await startFakeTelegram('123:secret-token');
    const wc = await startFakeWecom(['robot-key-0001']);
    closers.push(() => tg.close(), () => wc.close());
    settings = { telegramBotToken: '123:secret-token', telegramApiUrl: tg.url, wecomApiUrl: wc.url };
    const t = app();
    await optIn(t, 'hal', 'TELEGRAM', '424242');
    await t.run(SetChannelAddressMutation, { userId: 'hal', input: { channel: 'WECOM', address: 'robot-key-0001' } }, SERVICE);
    await t.run(UpdatePreferencesMutation, { input: { channels: [{ type: '*', channels: ['TELEGRAM', 'WECOM'] }] } }, asUser('hal'));
    tg.failNext(1, telegramError(429, 'Too Many Requests: retry after 1', { retry_after: 1 }));
    const id = await send(t, 'hal', ['TELEGRAM', 'WECOM']);
    await wc.waitForMessages(1);
    expect(wc.messages[0]!.content).toBe('Review PR 7\n\nplease');
    await tg.waitForMessages(1, 8000);
    expect(tg.messages[0]).toMatchObject({ chatId: 424242, text: 'Review PR 7\n\nplease' });
    const ds = (await eventually(() => deliveries(t, id), (x) => x.data?.deliveries.every((d) => d.status === 'DELIVERED') ?? false, 8000)).data!.deliveries;
    expect(ds.map((d) => [d.channel, d.attempts])).toEqual([['TELEGRAM', 2], ['WECOM', 1]]);
    // The key is a secret: masked in every answer.
    const shown = (await t.run(SetChannelAddressMutation, { userId: 'hal', input: { channel: 'WECOM', address: 'robot-key-0001' } }, SERVICE)).data!.setChannelAddress.user.channelAddresses;
    expect(JSON.stringify(shown)).not.toContain('robot-key-0001');
  });

  it('a loopback receiver is refused without WEBHOOK_ALLOW_PRIVATE, when set and when connecting', async () => {
    const r = await receiver();
    settings = { webhookAllowPrivate: false };
    const t = app();
    const refused = await t.run(SetChannelAddressMutation, { userId: 'ivy', input: { channel: 'WEBHOOK', address: r.at('/i') } }, SERVICE);
    expect(codes(refused)).toEqual(['BAD_USER_INPUT']);
    // A name that passes the address rule but leads to loopback is refused where it connects.
    await t.deliveries.setAddress('ivy', { channel: 'WEBHOOK', address: `https://localhost:${r.port}/i`, secret: 'whsec_AAAA', updatedAt: Date.now() });
    await t.run(UpdatePreferencesMutation, { input: { channels: [{ type: '*', channels: ['WEBHOOK'] }] } }, asUser('ivy'));
    const id = await send(t, 'ivy', ['WEBHOOK']);
    const d = (await eventually(() => deliveries(t, id), (x) => ['FAILED', 'RETRYING'].includes(x.data?.deliveries[0]?.status ?? ''))).data!.deliveries[0]!;
    expect(d.status).toBe('FAILED');
    expect(d.lastError).toMatch(/refused|not allowed|private|loopback/i);
    expect(r.connections).toBe(0);
  });
});
