import { DELIVERY_STATUSES, type Delivery } from '../store/deliveries.js';
import type { MaskedAddress } from '../channels/delivery-service.js';
import type { DeliveryLogPage } from '../store/delivery-store.js';
import { DomainError } from '../notifications/errors.js';
import { builder } from './builder.js';
import type { Context } from './context.js';
import { ChannelEnum } from './enums.js';
import { PageInfo } from './inbox.js';
import { NodeRef } from './node.js';
import { UserRef } from './users.js';

export const DeliveryStatusEnum = builder.enumType('DeliveryStatus', { values: DELIVERY_STATUSES });

const ChannelAddressRef = builder.objectRef<MaskedAddress>('ChannelAddress').implement({
  description: "A user's address on a channel beyond the app. Secrets never come back in full: a WeCom key, and a URL's path and query, are masked.",
  fields: (t) => ({
    channel: t.field({ type: ChannelEnum, resolve: (a) => a.channel }),
    address: t.exposeString('address'),
    updatedAt: t.field({ type: 'DateTime', resolve: (a) => a.updatedAt }),
  }),
});

export const DeliveryRef = builder.objectRef<Delivery>('Delivery').implement({
  interfaces: [NodeRef],
  fields: (t) => ({
    id: t.exposeID('id', { description: "Also the webhook-id a receiver sees, stable across retries; doubles as the log's cursor." }),
    notificationId: t.exposeID('notificationId'),
    userId: t.exposeID('userId'),
    channel: t.field({ type: ChannelEnum, resolve: (d) => d.channel }),
    status: t.field({ type: DeliveryStatusEnum, resolve: (d) => d.status }),
    attempts: t.exposeInt('attempts'),
    lastError: t.exposeString('lastError', { nullable: true, description: 'why the last attempt failed, or why it was skipped; secrets scrubbed' }),
    createdAt: t.field({ type: 'DateTime', resolve: (d) => d.createdAt }),
    nextAttemptAt: t.field({ type: 'DateTime', nullable: true, resolve: (d) => d.nextAttemptAt }),
    deliveredAt: t.field({ type: 'DateTime', nullable: true, resolve: (d) => d.deliveredAt }),
  }),
});

const DeliveryEdge = builder.objectRef<Delivery>('DeliveryEdge').implement({
  fields: (t) => ({
    cursor: t.string({ resolve: (d) => d.id }),
    node: t.field({ type: DeliveryRef, resolve: (d) => d }),
  }),
});

type LogPage = DeliveryLogPage & { hasPreviousPage: boolean };

const DeliveryConnection = builder.objectRef<LogPage>('DeliveryConnection').implement({
  fields: (t) => ({
    edges: t.field({ type: [DeliveryEdge], resolve: (p) => p.items }),
    pageInfo: t.field({ type: PageInfo, resolve: (p) => p }),
    totalCount: t.exposeInt('totalCount', { description: 'deliveries kept (see docs/channels.md for how long) that match the filter' }),
  }),
});

const DeliveryFilter = builder.inputType('DeliveryFilter', {
  fields: (t) => ({
    status: t.field({ type: [DeliveryStatusEnum] }),
    channel: t.field({ type: ChannelEnum }),
    userId: t.id(),
  }),
});

const ChannelAddressInput = builder.inputType('ChannelAddressInput', {
  fields: (t) => ({
    channel: t.field({ type: ChannelEnum, required: true }),
    address: t.string({ required: true, description: 'WEBHOOK an https URL; TELEGRAM a chat id; WECOM a group-robot key' }),
  }),
});

const SetChannelAddressPayload = builder.objectRef<{ userId: string; webhookSecret: string | null }>('SetChannelAddressPayload').implement({
  fields: (t) => ({
    user: t.field({
      type: UserRef,
      resolve: async (p, _args, ctx) => {
        const u = await ctx.loaders.users.load(p.userId);
        if (!u) throw new Error(`user ${p.userId} has no record after setChannelAddress`);
        return u;
      },
    }),
    webhookSecret: t.string({
      nullable: true,
      description: 'WEBHOOK only: the signing secret of this address ("whsec_…"), shown this once; setting the address again makes a new one.',
      resolve: (p) => p.webhookSecret,
    }),
  }),
});

builder.objectField(UserRef, 'channelAddresses', (t) =>
  t.field({
    type: [ChannelAddressRef],
    description: 'the user, or service/admin',
    resolve: (u, _args, ctx) => ctx.deliveries.addresses(u.id),
  }),
);

/** The user itself (a user-role token for that id) or a service/admin; else FORBIDDEN. */
async function ownerOrService(ctx: Context, userId: string): Promise<string> {
  const roles = ctx.principal?.roles ?? [];
  const privileged = roles.includes('service') || roles.includes('admin');
  if (!privileged && ctx.inboxUserId !== userId) {
    throw new DomainError('FORBIDDEN', "only the user itself, or a service/admin token, may change a user's channel addresses");
  }
  // The address belongs to a user that exists from then on, as a send would make it.
  await ctx.service.ensureUser(userId);
  return userId;
}

/** Deliveries the caller may see: the recipient's own, or any for service/admin; else null. */
export async function visibleDelivery(ctx: Context, d: Delivery | null): Promise<Delivery | null> {
  if (!d) return null;
  const roles = ctx.principal?.roles ?? [];
  if (roles.includes('service') || roles.includes('admin')) return d;
  return ctx.inboxUserId === d.userId ? d : null;
}

builder.queryFields((t) => ({
  deliveries: t.field({
    type: [DeliveryRef],
    description: "A notification's deliveries beyond the app. service/admin, or the recipient; anyone else gets NOT_FOUND.",
    authScopes: { authenticated: true },
    args: { notificationId: t.arg.id({ required: true }) },
    resolve: async (_root, args, ctx) => {
      const id = String(args.notificationId);
      const roles = ctx.principal?.roles ?? [];
      const privileged = roles.includes('service') || roles.includes('admin');
      const list = await ctx.deliveries.forNotification(id);
      // A recipient sees them while the notification is theirs (or its deliveries say so).
      const mine = !privileged && ctx.inboxUserId !== null && (list?.some((d) => d.userId === ctx.inboxUserId) || (await ctx.service.get(ctx.inboxUserId, id)) !== null);
      if (list === null || (!privileged && !mine)) throw new DomainError('NOT_FOUND', `notification ${JSON.stringify(id)} not found`, 'notificationId');
      return list;
    },
  }),
  deliveryLog: t.field({
    type: DeliveryConnection,
    description: 'admin. Newest first by creation; the cursor is the delivery id.',
    authScopes: { admin: true },
    args: {
      first: t.arg.int({ defaultValue: 20 }),
      after: t.arg.string(),
      filter: t.arg({ type: DeliveryFilter }),
    },
    resolve: async (_root, args, ctx) => {
      const page = await ctx.deliveries.log({
        first: args.first ?? 20,
        after: args.after,
        filter: args.filter && { status: args.filter.status, channel: args.filter.channel, userId: args.filter.userId == null ? null : String(args.filter.userId) },
      });
      return { ...page, hasPreviousPage: Boolean(args.after) };
    },
  }),
}));

builder.mutationFields((t) => ({
  setChannelAddress: t.field({
    type: SetChannelAddressPayload,
    description: 'the user itself, or service/admin. One address per channel: setting it again replaces it (and a webhook gets a new secret).',
    authScopes: { authenticated: true },
    args: { userId: t.arg.id({ required: true }), input: t.arg({ type: ChannelAddressInput, required: true }) },
    resolve: async (_root, args, ctx) => {
      const userId = await ownerOrService(ctx, String(args.userId));
      const { secret } = await ctx.deliveries.setAddress(userId, args.input.channel, args.input.address);
      return { userId, webhookSecret: secret };
    },
  }),
  removeChannelAddress: t.field({
    type: UserRef,
    description: 'the user itself, or service/admin',
    authScopes: { authenticated: true },
    args: { userId: t.arg.id({ required: true }), channel: t.arg({ type: ChannelEnum, required: true }) },
    resolve: async (_root, args, ctx) => {
      const userId = await ownerOrService(ctx, String(args.userId));
      await ctx.deliveries.removeAddress(userId, args.channel);
      const u = await ctx.loaders.users.load(userId);
      if (!u) throw new Error(`user ${userId} has no record`);
      return u;
    },
  }),
  retryDelivery: t.field({
    type: DeliveryRef,
    description: 'admin: a FAILED delivery back to PENDING (attempts reset, same webhook-id); any other state is BAD_USER_INPUT',
    authScopes: { admin: true },
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, args, ctx) => ctx.deliveries.retry(String(args.id)),
  }),
}));
