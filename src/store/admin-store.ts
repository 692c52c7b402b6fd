import type { NotificationTypePolicy, Template } from './types.js';

/** Policies and templates, the day's counters, and the backend's health (Store semantics: store.ts). */
export interface AdminStore {
  getPolicies(): Promise<NotificationTypePolicy[]>;
  setPolicy(policy: NotificationTypePolicy): Promise<void>;
  getTemplates(): Promise<Template[]>;
  upsertTemplate(template: Template): Promise<void>;

  /**
   * Counters of the UTC day containing `now` (see {@link statsDay}), kept by send and broadcast
   * as they commit (never a scan): stored notifications (a broadcast counts its recipients),
   * per type, and deduplicated ones (a deduplicated broadcast counts its audience).
   */
  dailyStats(now: number): Promise<DailyStats>;
  /** Bytes the backend's server uses (Redis INFO used_memory); null on the memory backend. */
  usedMemoryBytes(): Promise<number | null>;

  /** true when the backend answers. */
  ping(): Promise<boolean>;
  /**
   * The marker of the data set: every id it issued is above it. It changes when the backend
   * lost its data (Redis restarted empty or wiped); resumes from before it are not complete.
   */
  epoch(): Promise<number>;
}

export interface DailyStats {
  /** YYYY-MM-DD (UTC) */
  day: string;
  sent: number;
  deduplicated: number;
  /** stored notifications per type; types with none are absent */
  byType: Record<string, number>;
}

const DAY_MS = 24 * 3600 * 1000;
let lastDay = { day: NaN, name: '' };

/**
 * The day counters are kept under: the UTC date of `now`. UTC, not the server's zone, so that
 * every instance (whatever its TZ) counts into the same day (docs/dashboard.md).
 */
export function statsDay(now: number): string {
  const day = Math.floor(now / DAY_MS);
  // Every send asks for it: the last day's string is kept (NaN never matches, so it still throws).
  if (day !== lastDay.day) lastDay = { day, name: new Date(day * DAY_MS).toISOString().slice(0, 10) };
  return lastDay.name;
}
