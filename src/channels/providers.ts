/**
 * The providers of one deployment, made from its settings. Telegram exists only with a bot
 * token; without one the outbox has no TELEGRAM provider (a delivery to it is SKIPPED or
 * FAILED by the caller's rule, not sent).
 */
import type { ClosableProvider, ExternalChannel } from './provider.js';
import { createTelegramProvider } from './telegram.js';
import { createWebhookProvider } from './webhook.js';
import { createWecomProvider } from './wecom.js';

export interface ProvidersSettings {
  /** WEBHOOK_ALLOW_PRIVATE */
  webhookAllowPrivate: boolean;
  /** TELEGRAM_BOT_TOKEN; unset: no Telegram */
  telegramBotToken?: string | undefined;
  /** TELEGRAM_API_URL */
  telegramApiUrl?: string | undefined;
  /** WECOM_API_URL */
  wecomApiUrl?: string | undefined;
  /** per request, connect to end of response @default 10_000 */
  timeoutMs?: number;
}

export interface Providers {
  get(channel: ExternalChannel): ClosableProvider | undefined;
  close(): Promise<void>;
}

export function createProviders(settings: ProvidersSettings): Providers {
  const { timeoutMs = 10_000 } = settings;
  const map = new Map<ExternalChannel, ClosableProvider>();
  map.set('WEBHOOK', createWebhookProvider({ allowPrivate: settings.webhookAllowPrivate, timeoutMs, connectTimeoutMs: timeoutMs }));
  if (settings.telegramBotToken) {
    map.set('TELEGRAM', createTelegramProvider({ token: settings.telegramBotToken, timeoutMs, ...(settings.telegramApiUrl ? { apiUrl: settings.telegramApiUrl } : {}) }));
  }
  map.set('WECOM', createWecomProvider({ timeoutMs, ...(settings.wecomApiUrl ? { apiUrl: settings.wecomApiUrl } : {}) }));
  return {
    get: (channel) => map.get(channel),
    close: async () => {
      await Promise.all([...map.values()].map((p) => p.close()));
    },
  };
}
