import { priorityRank, type Notification, type NotificationContent, type UserRecord } from './types.js';

/** How items and users are laid out in Redis values (see keys.ts). */

export function encodeContent(c: NotificationContent): { rank: number; json: string } {
  return { rank: priorityRank(c.priority), json: JSON.stringify(c) };
}

/** Stored content as its recipient sees it (both backends). */
export function toNotification(userId: string, id: string, c: NotificationContent, readAt: number | null): Notification {
  return {
    id,
    userId,
    type: c.type,
    title: c.title,
    body: c.body,
    data: c.data ?? null,
    priority: c.priority,
    createdAt: c.createdAt,
    expiresAt: c.expiresAt,
    readAt,
    // A partition whose sequence was past the broadcast's id stored it under an id of its own
    // and kept the broadcast's in the content (broadcastPart.lua).
    broadcastId: c.broadcast ? ((c as { broadcastId?: string }).broadcastId ?? id) : null,
  };
}

/** A stored value "type\trank\tjson" back into the recipient's view. */
export function decodeItem(userId: string, id: string, value: string, readAt: string): Notification {
  const json = value.slice(value.indexOf('\t', value.indexOf('\t') + 1) + 1);
  return toNotification(userId, id, JSON.parse(json) as NotificationContent, readAt === '' ? null : Number(readAt));
}

/** Flat {id, value, readAt, ...} replies from the scripts. */
export function decodeItems(userId: string, flat: readonly (string | number)[], from = 0): Notification[] {
  const out: Notification[] = [];
  for (let i = from; i + 2 < flat.length; i += 3) {
    out.push(decodeItem(userId, String(flat[i]), String(flat[i + 1]), String(flat[i + 2])));
  }
  return out;
}

/** HGETALL reply (flat or object) of a user hash. */
export function decodeUser(id: string, reply: string[] | Record<string, string>): UserRecord | null {
  const h: Record<string, string> = Array.isArray(reply) ? pairs(reply) : reply;
  if (h.created === undefined) return null;
  return {
    id,
    displayName: h.name ?? null,
    active: h.active === '1',
    createdAt: Number(h.created),
    preferences: {
      mutedTypes: h.muted ? (JSON.parse(h.muted) as string[]) : [],
      channels: h.channels ? JSON.parse(h.channels) : [],
    },
  };
}

function pairs(flat: string[]): Record<string, string> {
  const h: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) h[flat[i]!] = flat[i + 1]!;
  return h;
}
