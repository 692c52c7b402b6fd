import type { SendResult } from '../notifications/service.js';
import type { Notification } from '../notifications/types.js';
import type { Page } from '../store/store.js';
import { builder } from './builder.js';
import { ChannelEnum, PriorityEnum } from './enums.js';
import { NodeRef, inboxOf } from './node.js';
import { UserRef } from './users.js';

export const NotificationRef = builder.objectRef<Notification>('Notification').implement({
  interfaces: [NodeRef],
  fields: (t) => ({
    id: t.exposeID('id', { description: 'Issued in creation order; doubles as the connection cursor.' }),
    type: t.exposeString('type', { description: 'e.g. "task_assigned"; selects the TTL policy' }),
    title: t.exposeString('title'),
    body: t.exposeString('body'),
    data: t.field({ type: 'JSON', nullable: true, resolve: (n) => n.data }),
    priority: t.field({ type: PriorityEnum, resolve: (n) => n.priority }),
    createdAt: t.field({ type: 'DateTime', resolve: (n) => n.createdAt }),
    expiresAt: t.field({ type: 'DateTime', resolve: (n) => n.expiresAt }),
    readAt: t.field({ type: 'DateTime', nullable: true, resolve: (n) => n.readAt }),
    read: t.boolean({ resolve: (n) => n.readAt !== null }),
    broadcastId: t.exposeID('broadcastId', { nullable: true, description: 'set when it came from a broadcast' }),
    recipient: t.field({
      type: UserRef,
      description: 'Resolved through a per-request DataLoader.',
      resolve: async (n, _args, ctx) => {
        const u = await ctx.loaders.users.load(n.userId);
        if (!u) throw new Error(`recipient ${n.userId} of ${n.id} has no user record`);
        return u;
      },
    }),
  }),
});

const NotificationEdge = builder.objectRef<Notification>('NotificationEdge').implement({
  fields: (t) => ({
    cursor: t.string({ resolve: (n) => n.id }),
    node: t.field({ type: NotificationRef, resolve: (n) => n }),
  }),
});

/** What PageInfo reads: any page of items with ids (notifications, deliveries). */
export interface PageShape {
  items: readonly { id: string }[];
  hasNextPage: boolean;
  hasPreviousPage: boolean;
}

export const PageInfo = builder.objectRef<PageShape>('PageInfo').implement({
  fields: (t) => ({
    hasNextPage: t.exposeBoolean('hasNextPage'),
    hasPreviousPage: t.exposeBoolean('hasPreviousPage', { description: 'true when the `after` item or newer ones match the filter (edges before this page exist)' }),
    startCursor: t.string({ nullable: true, resolve: (p) => p.items[0]?.id ?? null }),
    endCursor: t.string({ nullable: true, resolve: (p) => p.items.at(-1)?.id ?? null }),
  }),
});

const NotificationConnection = builder.objectRef<Page>('NotificationConnection').implement({
  fields: (t) => ({
    edges: t.field({ type: [NotificationEdge], resolve: (p) => p.items }),
    pageInfo: t.field({ type: PageInfo, resolve: (p) => p }),
    totalCount: t.exposeInt('totalCount', { description: 'Items matching the filter in the whole inbox.' }),
    unreadCount: t.exposeInt('unreadCount', {
      description: 'Unread items matching the filter (types/minPriority); without those, the whole inbox unread count.',
    }),
  }),
});

const NotificationFilter = builder.inputType('NotificationFilter', {
  fields: (t) => ({
    unreadOnly: t.boolean(),
    types: t.stringList(),
    minPriority: t.field({ type: PriorityEnum }),
  }),
});

const SendNotificationInput = builder.inputType('SendNotificationInput', {
  fields: (t) => ({
    userIds: t.idList({ required: true }),
    type: t.string({ required: true }),
    title: t.string({ description: 'required unless template is given' }),
    body: t.string({ description: 'required unless template is given' }),
    template: t.id(),
    variables: t.field({ type: 'JSON' }),
    data: t.field({ type: 'JSON' }),
    priority: t.field({ type: PriorityEnum, description: "default: the type policy's" }),
    ttlSeconds: t.int({ description: "overrides the type policy's TTL (1 s to 30 days)" }),
    dedupKey: t.string({ description: 'same (user, dedupKey) inside the window is stored once' }),
    sendAt: t.field({ type: 'DateTime', description: 'future time: delivered by the scheduler then' }),
    channels: t.field({
      type: [ChannelEnum],
      description: "channels beyond IN_APP, each delivered if the user's preferences for the type include it and the user has an address there",
    }),
    escalateAfterSeconds: t.int({
      description: 'Send to the external channels only if the notification is still unread this many seconds after it was stored (unset: at once). Shorter than the TTL.',
    }),
  }),
});

const SendNotificationPayload = builder.objectRef<SendResult>('SendNotificationPayload').implement({
  fields: (t) => ({
    notifications: t.field({ type: [NotificationRef], description: 'the ones stored now (empty when scheduled)', resolve: (r) => r.notifications }),
    deduplicated: t.idList({ description: 'user ids skipped because of dedupKey', resolve: (r) => r.deduplicated }),
    muted: t.idList({ description: 'user ids skipped because they muted the type', resolve: (r) => r.muted }),
    scheduledId: t.exposeID('scheduledId', { nullable: true, description: 'set when sendAt is in the future' }),
  }),
});

builder.queryFields((t) => ({
  notifications: t.field({
    type: NotificationConnection,
    authScopes: { inbox: true },
    args: {
      first: t.arg.int({ defaultValue: 20 }),
      after: t.arg.string(),
      filter: t.arg({ type: NotificationFilter }),
    },
    resolve: (_root, args, ctx) => ctx.service.list(inboxOf(ctx), { first: args.first ?? 20, after: args.after, filter: args.filter }),
  }),
  notification: t.field({
    type: NotificationRef,
    nullable: true,
    description: 'own only',
    authScopes: { inbox: true },
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, { id }, ctx) => ctx.service.get(inboxOf(ctx), String(id)),
  }),
}));

const ids = (t: Parameters<Parameters<typeof builder.mutationFields>[0]>[0]) => ({ ids: t.arg.idList({ required: true }) });

builder.mutationFields((t) => ({
  markRead: t.field({
    type: [NotificationRef],
    authScopes: { inbox: true },
    args: ids(t),
    resolve: (_root, args, ctx) => ctx.service.markRead(inboxOf(ctx), args.ids.map(String)),
  }),
  markUnread: t.field({
    type: [NotificationRef],
    authScopes: { inbox: true },
    args: ids(t),
    resolve: (_root, args, ctx) => ctx.service.markUnread(inboxOf(ctx), args.ids.map(String)),
  }),
  markAllRead: t.int({
    description: 'how many changed',
    authScopes: { inbox: true },
    resolve: (_root, _args, ctx) => ctx.service.markAllRead(inboxOf(ctx)),
  }),
  deleteNotifications: t.int({
    description: 'how many were removed',
    authScopes: { inbox: true },
    args: ids(t),
    resolve: (_root, args, ctx) => ctx.service.delete(inboxOf(ctx), args.ids.map(String)),
  }),
  sendNotification: t.field({
    type: SendNotificationPayload,
    description: 'service/admin',
    authScopes: { service: true },
    args: { input: t.arg({ type: SendNotificationInput, required: true }) },
    resolve: (_root, { input }, ctx) => ctx.service.send({ ...input, userIds: input.userIds.map(String), template: input.template && String(input.template) }),
  }),
}));
