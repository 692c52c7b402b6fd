/**
 * The contract between the outbox and the providers. A provider knows HTTP and its
 * provider's answers, nothing of GraphQL or the store: the outbox hands it a destination and
 * a message rendered when the delivery was queued, and acts on the classified result.
 */

/** The channels that leave the server (IN_APP is the inbox itself). */
export type ExternalChannel = 'WEBHOOK' | 'TELEGRAM' | 'WECOM';

export const EXTERNAL_CHANNELS: readonly ExternalChannel[] = ['WEBHOOK', 'TELEGRAM', 'WECOM'];

/** What a provider sends; rendered once when the delivery is queued, stored with it. */
export interface OutboundMessage {
  /** the delivery id: the Standard Webhooks `webhook-id`, stable across retries */
  deliveryId: string;
  /** the JSON body of a webhook (already the payload object) */
  payload: Record<string, unknown>;
  /** plain text for Telegram and WeCom */
  text: string;
}

export interface Destination {
  address: string;
  /** WEBHOOK: whsec_... */
  secret?: string;
}

/**
 * `retry`: 429, 5xx, network, timeout (`retryAfterMs` when the provider said how long).
 * `fail`: permanent (a 4xx that won't change, a bad or refused address).
 * Error texts are already scrubbed of secrets (bot token, WeCom key, URL path and query).
 */
export type SendResult =
  | { kind: 'ok' }
  | { kind: 'retry'; error: string; retryAfterMs?: number }
  | { kind: 'fail'; error: string };

export interface Provider {
  readonly channel: ExternalChannel;
  send(to: Destination, message: OutboundMessage, signal?: AbortSignal): Promise<SendResult>;
}

/** A provider that owns connections: `close()` ends its HTTP pool (at shutdown). */
export interface ClosableProvider extends Provider {
  close(): Promise<void>;
}
