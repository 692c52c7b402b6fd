import type { NotificationTypePolicy, Template } from '../notifications/types.js';
import { builder } from './builder.js';
import { PriorityEnum } from './enums.js';

const PolicyRef = builder.objectRef<NotificationTypePolicy>('NotificationTypePolicy').implement({
  fields: (t) => ({
    type: t.exposeString('type'),
    ttlSeconds: t.exposeInt('ttlSeconds', { description: 'defaults: work_end_reminder 12 h, urgent 6 h, any other type 7 d (docs/api.md)' }),
    defaultPriority: t.field({ type: PriorityEnum, resolve: (p) => p.defaultPriority }),
    dedupWindowSeconds: t.exposeInt('dedupWindowSeconds', { description: 'default 86400' }),
    description: t.exposeString('description', { nullable: true }),
  }),
});

const TemplateRef = builder.objectRef<Template>('Template').implement({
  fields: (t) => ({
    name: t.exposeID('name'),
    type: t.exposeString('type'),
    title: t.exposeString('title', { description: '{{variable}} placeholders' }),
    body: t.exposeString('body'),
  }),
});

const TemplateInput = builder.inputType('TemplateInput', {
  fields: (t) => ({
    name: t.id({ required: true }),
    type: t.string({ required: true }),
    title: t.string({ required: true }),
    body: t.string({ required: true }),
  }),
});

builder.queryFields((t) => ({
  notificationTypes: t.field({
    type: [PolicyRef],
    description: 'The TTL table: defaults merged with admin overrides.',
    authScopes: { authenticated: true },
    resolve: (_root, _args, ctx) => ctx.service.policies(),
  }),
  templates: t.field({
    type: [TemplateRef],
    description: 'admin',
    authScopes: { admin: true },
    resolve: (_root, _args, ctx) => ctx.service.templates(),
  }),
}));

builder.mutationFields((t) => ({
  setNotificationTypePolicy: t.field({
    type: PolicyRef,
    description: 'admin',
    authScopes: { admin: true },
    args: {
      type: t.arg.string({ required: true }),
      ttlSeconds: t.arg.int({ required: true }),
      defaultPriority: t.arg({ type: PriorityEnum }),
      dedupWindowSeconds: t.arg.int(),
      description: t.arg.string(),
    },
    resolve: (_root, args, ctx) => ctx.service.setPolicy(args),
  }),
  upsertTemplate: t.field({
    type: TemplateRef,
    description: 'admin',
    authScopes: { admin: true },
    args: { input: t.arg({ type: TemplateInput, required: true }) },
    resolve: (_root, { input }, ctx) => ctx.service.upsertTemplate({ ...input, name: String(input.name) }),
  }),
}));
