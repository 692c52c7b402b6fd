import type { BroadcastRecord } from '../notifications/types.js';
import { builder } from './builder.js';
import { PriorityEnum } from './enums.js';
import { NodeRef } from './node.js';

const BroadcastRef = builder.objectRef<BroadcastRecord>('Broadcast').implement({
  interfaces: [NodeRef],
  fields: (t) => ({
    id: t.exposeID('id', { description: 'Also the notification id under which it appears in every inbox.' }),
    type: t.exposeString('type'),
    title: t.exposeString('title'),
    createdAt: t.field({ type: 'DateTime', resolve: (b) => b.createdAt }),
    saveOffline: t.exposeBoolean('saveOffline'),
    recipients: t.exposeInt('recipients', { description: 'users it was stored for (0 when saveOffline is false)' }),
    deduplicated: t.exposeInt('deduplicated', { description: 'the audience, when dedupKey repeated inside the window' }),
    muted: t.exposeInt('muted', { description: 'active users who muted the type' }),
  }),
});

const BroadcastInput = builder.inputType('BroadcastInput', {
  fields: (t) => ({
    type: t.string({ required: true }),
    title: t.string(),
    body: t.string(),
    template: t.id(),
    variables: t.field({ type: 'JSON' }),
    data: t.field({ type: 'JSON' }),
    priority: t.field({ type: PriorityEnum }),
    ttlSeconds: t.int(),
    dedupKey: t.string(),
    saveOffline: t.boolean({
      required: true,
      defaultValue: true,
      description: 'true: stored for every active user, online or not; false: pushed live to connected users only, nothing stored.',
    }),
  }),
});

builder.mutationField('broadcast', (t) =>
  t.field({
    type: BroadcastRef,
    description: 'service/admin. Written once whatever the audience; each inbox sees it under the broadcast id.',
    authScopes: { service: true },
    args: { input: t.arg({ type: BroadcastInput, required: true }) },
    resolve: (_root, { input }, ctx) => ctx.service.broadcast({ ...input, template: input.template && String(input.template) }),
  }),
);
