import { describe, expect, it } from 'vitest';
import { NotificationReceivedSubscription, SendNotificationMutation, TopicSubscription, UnreadCountChangedSubscription } from '../src/client/operations.js';
import { SERVICE, useTestApp } from './helpers/app.js';
import { withRedis } from './helpers/redis.js';
import { subscribe, wsClient } from './helpers/ws.js';

describe('subscription clean-up (redis)', () => {
  const t = useTestApp('redis', { clock: 'real' });
  const redis = withRedis();

  /** What this instance holds: Redis channel subscriptions under the test prefix, and local listeners. */
  async function footprint() {
    // Sorted before NUMSUB: CHANNELS comes in no particular order. Global and sharded channels.
    const global = ((await redis.pubsub('CHANNELS', `${t().prefix}*`)) as string[]).sort();
    const sharded = ((await redis.call('PUBSUB', 'SHARDCHANNELS', `${t().prefix}*`)) as string[]).sort();
    const channels = [...global, ...sharded];
    const numsub = [
      ...(global.length ? ((await redis.pubsub('NUMSUB', ...global)) as (string | number)[]) : []),
      ...(sharded.length ? ((await redis.call('PUBSUB', 'SHARDNUMSUB', ...sharded)) as (string | number)[]) : []),
    ];
    const { bus } = t().app.realtime as unknown as {
      bus: { getSubscriber(): { listenerCount(e: string): number }; subscriptionMap: Record<string, unknown> };
    };
    return {
      channels,
      numsub: numsub.map(String),
      // RedisPubSub's local listeners (one per stream per channel) and its connection listeners
      busListeners: Object.keys(bus.subscriptionMap).length,
      messageListeners: bus.getSubscriber().listenerCount('message'),
      process: process.listenerCount('exit'),
    };
  }

  it('holds the same channel subscriptions and listeners after 1 000 subscribe/unsubscribe cycles', async () => {
    const { ws } = await t().listen();
    const { client } = wsClient(ws, await t().token('cycler'));
    // A steady subscriber keeps the instance's baseline non-trivial.
    const steady = subscribe(client, UnreadCountChangedSubscription, {});
    await steady.waitFor(1);
    const before = await footprint();
    // the steady stream's two, and the dashboard channel every instance listens to
    expect(before.channels.length).toBe(3);
    for (let i = 0; i < 1000; i++) {
      const kind = i % 3;
      if (kind === 0) {
        const f = subscribe(client, UnreadCountChangedSubscription, {});
        await f.waitFor(1);
        f.stop();
      } else if (kind === 1) {
        // Stops before the subscription is even set up on the server.
        subscribe(client, NotificationReceivedSubscription, {}).stop();
      } else {
        const f = subscribe(client, TopicSubscription, { names: [`churn-${i}`] });
        await new Promise((r) => setTimeout(r, 1));
        f.stop();
      }
    }
    // Let the last UNSUBSCRIBEs reach Redis.
    for (let i = 0; i < 50 && JSON.stringify(await footprint()) !== JSON.stringify(before); i++) await new Promise((r) => setTimeout(r, 20));
    expect(await footprint()).toEqual(before);
    // The steady subscription still works.
    await t().run(SendNotificationMutation, { input: { userIds: ['cycler'], type: 'x', title: 't', body: '' } }, SERVICE);
    expect((await steady.waitFor(2)).map((r) => r.data!.unreadCountChanged)).toEqual([0, 1]);
  });
});
