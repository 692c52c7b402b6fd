/**
 * What every delivery channel beyond the app implements. Providers know HTTP and nothing of
 * GraphQL or the store; the outbox (outbox.ts) calls them and records the result.
 */
export type ExternalChannel = 'WEBHOOK' | 'TELEGRAM' | 'WECOM';
export const EXTERNAL_CHANNELS: readonly ExternalChannel[] = ['WEBHOOK', 'TELEGRAM', 'WECOM'];

/** What a provider sends; rendered from the content stored with the delivery. */
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

export type SendResult =
  | { kind: 'ok' }
  /** 429, 5xx, network, timeout */
  | { kind: 'retry'; error: string; retryAfterMs?: number }
  /** permanent (4xx that won't change, bad address) */
  | { kind: 'fail'; error: string };

export interface Provider {
  readonly channel: ExternalChannel;
  send(to: Destination, message: OutboundMessage, signal?: AbortSignal): Promise<SendResult>;
}
