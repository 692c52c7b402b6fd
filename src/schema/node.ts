import type { Delivery } from '../store/deliveries.js';
import type { BroadcastRecord, Notification, UserRecord } from '../notifications/types.js';
import { builder } from './builder.js';
import type { Context } from './context.js';

export type NodeShape = Notification | UserRecord | BroadcastRecord | Delivery;

export const NodeRef = builder.interfaceRef<NodeShape>('Node').implement({
  fields: (t) => ({ id: t.exposeID('id') }),
  resolveType: (v) => ('recipients' in v ? 'Broadcast' : 'attempts' in v ? 'Delivery' : 'userId' in v ? 'Notification' : 'User'),
});

/** The caller's inbox id; fields guarded by the `inbox` scope always have one. */
export function inboxOf(ctx: Context): string {
  if (!ctx.inboxUserId) throw new Error('inbox scope without an inbox user');
  return ctx.inboxUserId;
}

builder.queryField('node', (t) =>
  t.field({
    type: NodeRef,
    nullable: true,
    description: "The caller's own notification with this id; for service/admin tokens, also a user by id.",
    authScopes: { authenticated: true },
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_root, { id }, ctx) => {
      const key = String(id);
      const delivery = await ctx.deliveries.get(key);
      if (delivery) {
        const roles = ctx.principal?.roles ?? [];
        return roles.includes('service') || roles.includes('admin') || ctx.inboxUserId === delivery.userId ? delivery : null;
      }
      if (ctx.inboxUserId) {
        const n = await ctx.service.get(ctx.inboxUserId, key);
        if (n) return n;
      }
      const roles = ctx.principal?.roles ?? [];
      if (roles.includes('service') || roles.includes('admin')) return ctx.loaders.users.load(key);
      return null;
    },
  }),
);
