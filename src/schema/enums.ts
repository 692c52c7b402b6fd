import { CHANNELS, PRIORITIES, ROLES } from '../notifications/types.js';
import { builder } from './builder.js';

export const PriorityEnum = builder.enumType('Priority', { values: PRIORITIES });
export const ChannelEnum = builder.enumType('Channel', { values: CHANNELS });
export const RoleEnum = builder.enumType('Role', {
  values: Object.fromEntries(ROLES.map((r) => [r.toUpperCase(), { value: r }])) as Record<'USER' | 'SERVICE' | 'ADMIN', { value: (typeof ROLES)[number] }>,
});
