import { badInput } from './errors.js';
import { DEDUP_KEY, EXTERNAL_ID, TOPIC_NAME, TYPE_NAME, decodeSeq } from './ids.js';
import { MAX_TTL_SECONDS } from './policies.js';

/** Input bounds. Each failure is BAD_USER_INPUT naming the field. */
export const LIMITS = {
  title: 200,
  body: 5000,
  dataBytes: 16 * 1024,
  userIdsPerCall: 1000,
  idsPerCall: 1000,
  displayName: 200,
  mutedTypes: 100,
  /** entries of Preferences.channels (one per type, plus "*") */
  channelPreferences: 100,
  description: 500,
  pageSize: 100,
  topicsPerSubscription: 20,
} as const;

export function text(field: string, value: string, max: number): string {
  if (value.length > max) throw badInput(field, `must be at most ${max} characters (got ${value.length})`);
  return value;
}

export function nonEmptyText(field: string, value: string | null | undefined, max: number): string {
  if (value === undefined || value === null || value.trim() === '') throw badInput(field, 'is required');
  return text(field, value, max);
}

export function json(field: string, value: unknown): unknown {
  if (value === undefined || value === null) return null;
  const size = Buffer.byteLength(JSON.stringify(value), 'utf8');
  if (size > LIMITS.dataBytes) throw badInput(field, `must be at most ${LIMITS.dataBytes} bytes as JSON (got ${size})`);
  return value;
}

export function externalId(field: string, value: string): string {
  if (!EXTERNAL_ID.test(value)) throw badInput(field, 'must be 1-128 characters of A-Z a-z 0-9 _ . @ -');
  return value;
}

export function userIds(field: string, ids: readonly string[]): string[] {
  if (ids.length === 0) throw badInput(field, 'must name at least one user');
  if (ids.length > LIMITS.userIdsPerCall) throw badInput(field, `at most ${LIMITS.userIdsPerCall} per call (got ${ids.length})`);
  return [...new Set(ids.map((id) => externalId(field, id)))];
}

/** Notification ids are ours: anything else can't name a notification, so it is bad input. */
export function notificationIds(field: string, ids: readonly string[]): string[] {
  if (ids.length > LIMITS.idsPerCall) throw badInput(field, `at most ${LIMITS.idsPerCall} per call (got ${ids.length})`);
  for (const id of ids) notificationId(field, id);
  return [...new Set(ids)];
}

export function notificationId(field: string, id: string): string {
  if (decodeSeq(id) === null) throw badInput(field, `"${id.slice(0, 40)}" is not a notification id`);
  return id;
}

export function typeName(field: string, value: string): string {
  if (!TYPE_NAME.test(value)) throw badInput(field, 'must be 1-64 characters: a lower-case letter, then a-z 0-9 _ . -');
  return value;
}

export function dedupKey(field: string, value: string | null | undefined): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (!DEDUP_KEY.test(value)) throw badInput(field, 'must be 1-200 characters of A-Z a-z 0-9 _ . : @ / -');
  return value;
}

export function seconds(field: string, value: number, min = 1, max = MAX_TTL_SECONDS): number {
  if (!Number.isInteger(value) || value < min || value > max) throw badInput(field, `must be an integer from ${min} to ${max} seconds`);
  return value;
}

export function pageSize(field: string, value: number): number {
  if (!Number.isInteger(value) || value < 0 || value > LIMITS.pageSize) throw badInput(field, `must be from 0 to ${LIMITS.pageSize}`);
  return value;
}

export function objectOf(field: string, value: unknown): Record<string, unknown> {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw badInput(field, 'must be a JSON object');
  json(field, value);
  return value as Record<string, unknown>;
}

export function topicName(field: string, value: string): string {
  if (!TOPIC_NAME.test(value)) throw badInput(field, 'must be 1-100 characters of A-Z a-z 0-9 _ . : -, starting with a letter or digit');
  return value;
}
