import type { NotificationTypePolicy, Priority } from './types.js';

const HOUR = 3600;
const DAY = 24 * HOUR;

/** Default TTL tiers by type; anything not listed lives 7 days. Admins override per type. */
export const DEFAULT_TTL_SECONDS: Readonly<Record<string, number>> = {
  work_end_reminder: 12 * HOUR,
  task_assigned: 3 * DAY,
  task_completed: 1 * DAY,
  task_due_soon: 2 * DAY,
  article_assigned: 3 * DAY,
  article_reviewed: 1 * DAY,
  system_announcement: 7 * DAY,
  urgent: 6 * HOUR,
};
export const FALLBACK_TTL_SECONDS = 7 * DAY;
export const DEFAULT_DEDUP_WINDOW_SECONDS = DAY;
export const MAX_TTL_SECONDS = 30 * DAY;

const defaultPriority = (type: string): Priority => (type === 'urgent' ? 'URGENT' : 'NORMAL');

export function defaultPolicy(type: string): NotificationTypePolicy {
  return {
    type,
    ttlSeconds: DEFAULT_TTL_SECONDS[type] ?? FALLBACK_TTL_SECONDS,
    defaultPriority: defaultPriority(type),
    dedupWindowSeconds: DEFAULT_DEDUP_WINDOW_SECONDS,
    description: null,
  };
}

/** The defaults table merged with stored overrides, sorted by type. */
export function mergePolicies(overrides: readonly NotificationTypePolicy[]): NotificationTypePolicy[] {
  const byType = new Map(Object.keys(DEFAULT_TTL_SECONDS).map((t) => [t, defaultPolicy(t)]));
  for (const p of overrides) byType.set(p.type, p);
  return [...byType.values()].sort((a, b) => a.type.localeCompare(b.type));
}
