/**
 * Renders a notification once, when its deliveries are queued: the webhook's JSON payload and
 * the plain text for Telegram and WeCom. The per-channel cuts live here too; each provider cuts
 * the stored text to its own limit at send time.
 */
import type { OutboundMessage } from './provider.js';

/** JSON that survives JSON.stringify unchanged */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

export interface RenderableNotification {
  id: string;
  userId: string;
  type: string;
  title: string;
  body: string | null;
  priority: string;
  data: JsonValue | null;
  /** ms since the epoch */
  createdAt: number;
}

export const WEBHOOK_EVENT_TYPE = 'notification.created';
const ELLIPSIS = '…';

export function renderMessage(deliveryId: string, n: RenderableNotification, now: number = Date.now()): OutboundMessage {
  return {
    deliveryId,
    payload: {
      type: WEBHOOK_EVENT_TYPE,
      timestamp: new Date(now).toISOString(),
      data: {
        id: n.id,
        userId: n.userId,
        type: n.type,
        title: n.title,
        body: n.body,
        priority: n.priority,
        data: n.data,
        createdAt: new Date(n.createdAt).toISOString(),
      },
    },
    text: n.body ? `${n.title}\n\n${n.body}` : n.title,
  };
}

/**
 * At most `max` UTF-16 code units (what JavaScript's length and Telegram count), ending in "…"
 * when cut; never splits a surrogate pair.
 */
export function cutToChars(text: string, max: number): string {
  if (text.length <= max) return text;
  let end = max - ELLIPSIS.length;
  // a high surrogate at the cut would leave half a character
  const code = text.charCodeAt(end - 1);
  if (code >= 0xd800 && code <= 0xdbff) end -= 1;
  return text.slice(0, end) + ELLIPSIS;
}

/** At most `max` bytes of UTF-8, ending in "…" (3 bytes) when cut; cuts between code points. */
export function cutToUtf8Bytes(text: string, max: number): string {
  if (Buffer.byteLength(text, 'utf8') <= max) return text;
  const budget = max - Buffer.byteLength(ELLIPSIS, 'utf8');
  let bytes = 0;
  let end = 0;
  for (const ch of text) {
    const size = utf8Size(ch.codePointAt(0) ?? 0);
    if (bytes + size > budget) break;
    bytes += size;
    end += ch.length;
  }
  return text.slice(0, end) + ELLIPSIS;
}

function utf8Size(codePoint: number): number {
  if (codePoint < 0x80) return 1;
  if (codePoint < 0x800) return 2;
  if (codePoint < 0x10000) return 3;
  return 4;
}
