import type { OutboundMessage } from './provider.js';

/** What a delivery renders from (the notification as stored with the delivery). */
export interface RenderInput {
  id: string;
  userId: string;
  type: string;
  title: string;
  body: string;
  priority: string;
  data: unknown;
  createdAt: number;
}

export function renderMessage(deliveryId: string, n: RenderInput): OutboundMessage {
  const createdAt = new Date(n.createdAt).toISOString();
  return {
    deliveryId,
    payload: {
      type: 'notification.created',
      timestamp: createdAt,
      data: { id: n.id, userId: n.userId, type: n.type, title: n.title, body: n.body, priority: n.priority, data: n.data ?? null, createdAt },
    },
    text: n.body ? `${n.title}\n\n${n.body}` : n.title,
  };
}
