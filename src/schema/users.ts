import type { ChannelPreference, Preferences, UserRecord } from '../notifications/types.js';
import { externalId } from '../notifications/validate.js';
import { builder } from './builder.js';
import { ChannelEnum } from './enums.js';
import { NodeRef, inboxOf } from './node.js';

const ChannelPreferenceRef = builder.objectRef<ChannelPreference>('ChannelPreference').implement({
  fields: (t) => ({
    type: t.exposeString('type'),
    channels: t.field({ type: [ChannelEnum], resolve: (c) => c.channels }),
  }),
});

const PreferencesRef = builder.objectRef<Preferences>('Preferences').implement({
  fields: (t) => ({
    mutedTypes: t.exposeStringList('mutedTypes'),
    channels: t.field({
      type: [ChannelPreferenceRef],
      description: 'Channels other than IN_APP the user receives, per type ("*" = all types).',
      resolve: (p) => p.channels,
    }),
  }),
});

export const UserRef = builder.objectRef<UserRecord>('User').implement({
  interfaces: [NodeRef],
  fields: (t) => ({
    id: t.exposeID('id'),
    displayName: t.exposeString('displayName', { nullable: true }),
    active: t.exposeBoolean('active'),
    createdAt: t.field({ type: 'DateTime', resolve: (u) => u.createdAt }),
    unreadCount: t.int({
      description: 'Exact count of unread, unexpired notifications.',
      resolve: (u, _args, ctx) => ctx.loaders.unreadCounts.load(u.id),
    }),
    preferences: t.field({ type: PreferencesRef, resolve: (u) => u.preferences }),
  }),
});

const ChannelPreferenceInput = builder.inputType('ChannelPreferenceInput', {
  fields: (t) => ({
    type: t.string({ required: true }),
    channels: t.field({ type: [ChannelEnum], required: true }),
  }),
});

const PreferencesInput = builder.inputType('PreferencesInput', {
  fields: (t) => ({
    mutedTypes: t.stringList({ required: false }),
    channels: t.field({ type: [ChannelPreferenceInput], required: false }),
  }),
});

builder.queryFields((t) => ({
  me: t.field({
    type: UserRef,
    authScopes: { inbox: true },
    resolve: async (_root, _args, ctx) => {
      const u = await ctx.loaders.users.load(inboxOf(ctx));
      if (!u) throw new Error('caller has no user record after ensureUser');
      return u;
    },
  }),
  user: t.field({
    type: UserRef,
    nullable: true,
    description: 'service/admin',
    authScopes: { service: true },
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, { id }, ctx) => ctx.loaders.users.load(externalId('id', String(id))),
  }),
}));

builder.mutationFields((t) => ({
  upsertUser: t.field({
    type: UserRef,
    description: 'service/admin. A user is active from its first upsert, send or user-role call; active:false stops broadcasts reaching it.',
    authScopes: { service: true },
    args: {
      id: t.arg.id({ required: true }),
      displayName: t.arg.string(),
      active: t.arg.boolean(),
    },
    resolve: (_root, args, ctx) => ctx.service.upsertUser(String(args.id), args.displayName, args.active),
  }),
  updatePreferences: t.field({
    type: PreferencesRef,
    description: 'Muted types are not stored for this user from now on (sends report them as muted).',
    authScopes: { inbox: true },
    args: { input: t.arg({ type: PreferencesInput, required: true }) },
    resolve: async (_root, { input }, ctx) => (await ctx.service.updatePreferences(inboxOf(ctx), input)).preferences,
  }),
}));
