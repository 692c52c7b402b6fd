import { DomainError, badInput } from '../notifications/errors.js';
import type { Notification } from '../notifications/types.js';
import { LIMITS, json, notificationId, topicName } from '../notifications/validate.js';
import type { TopicEvent } from '../realtime/events.js';
import { builder } from './builder.js';
import type { Context } from './context.js';
import { NotificationRef } from './inbox.js';
import { inboxOf } from './node.js';

const TopicEventRef = builder.objectRef<TopicEvent>('TopicEvent').implement({
  fields: (t) => ({
    topic: t.exposeString('topic'),
    payload: t.field({ type: 'JSON', resolve: (e) => e.payload }),
    publishedAt: t.field({ type: 'DateTime', resolve: (e) => e.publishedAt }),
  }),
});

/** Reserved topics need their role (admin passes every check). */
function checkTopic(ctx: Context, name: string, field: string): string {
  topicName(field, name);
  const role = ctx.topicRoles[name];
  const roles = ctx.principal?.roles ?? [];
  if (role && !roles.includes(role) && !roles.includes('admin')) {
    throw new DomainError('FORBIDDEN', `${field}: topic "${name}" is reserved to the ${role} role`, field);
  }
  return name;
}

const endsAt = (ctx: Context) => ctx.principal?.expiresAt ?? null;

builder.subscriptionType({
  fields: (t) => ({
    notificationReceived: t.field({
      type: NotificationRef,
      description:
        'New notifications for the caller. With `after` (a notification id or cursor), first replays every stored notification newer than it, oldest first, then streams live ones: no gap and no duplicate across a reconnect.',
      authScopes: { inbox: true },
      args: { after: t.arg.string() },
      subscribe: (_root, { after }, ctx) => {
        if (after) notificationId('after', after);
        return ctx.realtime.notifications(inboxOf(ctx), after ?? null, { endsAt: endsAt(ctx) });
      },
      resolve: (n: Notification, _args, ctx) => {
        // Loaders live on the subscription's context: clear them so every event reads fresh users.
        ctx.loaders.reset();
        return n;
      },
    }),
    unreadCountChanged: t.int({
      description: "The caller's exact unread count: the current value first, then after every change (any device, any instance).",
      authScopes: { inbox: true },
      subscribe: (_root, _args, ctx) => ctx.realtime.unreadCounts(inboxOf(ctx), { endsAt: endsAt(ctx) }),
      resolve: (n: number) => n,
    }),
    topic: t.field({
      type: TopicEventRef,
      description: 'Ephemeral topic events, e.g. "dashboard", "downloads", "system". Reserved topics need their role.',
      authScopes: { authenticated: true },
      args: { names: t.arg.stringList({ required: true }) },
      subscribe: (_root, { names }, ctx) => {
        if (names.length === 0 || names.length > LIMITS.topicsPerSubscription) {
          throw badInput('names', `between 1 and ${LIMITS.topicsPerSubscription} topics`);
        }
        const unique = [...new Set(names.map((n) => checkTopic(ctx, n, 'names')))];
        return ctx.realtime.topics(unique, { endsAt: endsAt(ctx) });
      },
      resolve: (e: TopicEvent) => e,
    }),
  }),
});

builder.mutationField('publish', (t) =>
  t.field({
    type: TopicEventRef,
    description: 'service/admin. Fire-and-forget event to every subscriber of the topic on every instance; payload at most 16 KB.',
    authScopes: { service: true },
    args: { topic: t.arg.string({ required: true }), payload: t.arg({ type: 'JSON', required: true }) },
    resolve: (_root, { topic, payload }, ctx) => {
      checkTopic(ctx, topic, 'topic');
      if (payload === null || payload === undefined) throw badInput('payload', 'is required');
      json('payload', payload);
      return ctx.realtime.publishTopic(topic, payload);
    },
  }),
);
