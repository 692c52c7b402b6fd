/**
 * How the dashboard-push job reaches the app's dashboard (src/dashboard): main.ts, tests and
 * the bench wire the scheduler with these.
 *
 * - dashboardUpdated: DashboardFeed.publish() sends a "refresh" on channels().dashboard; every
 *   instance then pushes its own dashboard (its `system` part is per instance) to its listeners.
 * - the `dashboard` topic: one snapshot, computed by the instance running the job, published
 *   as a TopicEvent.
 * Listeners: on Redis the job's worker asks PUBSUB NUMSUB of both channels (instances with
 * listeners); on the memory backend the count is local, from the feed and the in-process bus.
 */
import type { PubSubEngine } from 'graphql-subscriptions';
import type { App } from '../app.js';
import type { Channels } from '../realtime/channels.js';
import type { DashboardChannels, DashboardHooks } from './local-ops.js';

/** Local subscribers of a channel on graphql-subscriptions' in-process PubSub (0 on any other bus). */
function localSubscribers(bus: PubSubEngine, channel: string): number {
  // PubSub keeps them on a protected EventEmitter `ee`; it has no public count.
  const ee = (bus as unknown as { ee?: { listenerCount(name: string): number } }).ee;
  return typeof ee?.listenerCount === 'function' ? ee.listenerCount(channel) : 0;
}

/**
 * @param getApp - the app, created after the scheduler (the app serves the scheduler's `jobs`),
 *   so it is looked up when the job runs.
 */
export function dashboardHooks(getApp: () => App | undefined, { bus, channels }: { bus: PubSubEngine; channels: Channels }): DashboardHooks & { channels: DashboardChannels } {
  const ch: DashboardChannels = { updated: channels.dashboard, topic: channels.topic('dashboard') };
  return {
    channels: ch,
    async listeners() {
      const app = getApp();
      return { updated: app?.dashboardFeed.size ?? 0, topic: localSubscribers(bus, ch.topic) };
    },
    async publish(to) {
      const app = getApp();
      if (!app) return;
      if (to.updated > 0) await app.dashboardFeed.publish();
      if (to.topic > 0) await app.realtime.publishTopic('dashboard', await app.dashboard.snapshot());
    },
  };
}
