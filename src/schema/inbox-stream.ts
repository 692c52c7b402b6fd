import type { InboxEvent } from '../realtime/inbox-stream.js';
import { builder } from './builder.js';
import { NotificationRef } from './inbox.js';
import { inboxOf } from './node.js';

const InboxEventRef = builder.objectRef<InboxEvent>('InboxEvent').implement({
  description:
    'One event of the `inbox` stream: a notification (replayed or new), a read-state change or removal, an "attached" event, or the marker that ends a replay. Every event carries the exact unread count.',
  fields: (t) => ({
    notification: t.field({
      type: NotificationRef,
      nullable: true,
      description: 'a replayed or new notification; null on other events',
      resolve: (e) => e.notification,
    }),
    unreadCount: t.exposeInt('unreadCount', { description: "the caller's exact unread count when this event is sent" }),
    readIds: t.field({ type: ['ID'], nullable: true, description: 'notifications that became read (any device)', resolve: (e) => e.readIds }),
    unreadIds: t.field({ type: ['ID'], nullable: true, description: 'notifications marked unread again', resolve: (e) => e.unreadIds }),
    removedIds: t.field({ type: ['ID'], nullable: true, description: 'deleted, expired, or pushed out by the cap', resolve: (e) => e.removedIds }),
    replayComplete: t.boolean({
      nullable: true,
      description:
        'Set only on the marker that ends a replay: true = every notification newer than `after` that the inbox held for the caller was replayed; false = some are gone (cap, expiry, deletion), `after` is unknown or malformed, or the store cannot prove there was no gap: reload page 1.',
      resolve: (e) => e.replayComplete,
    }),
  }),
});

builder.subscriptionField('inbox', (t) =>
  t.field({
    type: InboxEventRef,
    description:
      'One stream for an inbox screen. Without `after`: a first event with notification and replayComplete null once the stream is attached (load page 1 after it), then live events. With `after`: the notifications newer than it still held, oldest first, then one marker (replayComplete set), then live events, with no gap and no duplicate. A malformed or unknown `after` is not an error: the marker says replayComplete false.',
    authScopes: { inbox: true },
    args: { after: t.arg.string() },
    subscribe: (_root, { after }, ctx) => ctx.realtime.inbox(inboxOf(ctx), after ?? null, { endsAt: ctx.principal?.expiresAt ?? null }),
    resolve: (e: InboxEvent, _args, ctx) => {
      // Loaders live on the subscription's context: clear them so every event reads fresh users.
      ctx.loaders.reset();
      return e;
    },
  }),
);
