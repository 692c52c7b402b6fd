/**
 * The providers of one deployment, made from its settings. Telegram exists only with a bot
 * token; without one the outbox has no TELEGRAM provider (a delivery to it is SKIPPED or
 * FAILED by the caller's rule, not sent).
 *
 * Each provider's module (and with it the HTTP client, undici: about 6 MB of heap and 111
 * modules) is loaded at its first send, so a server that delivers nothing outside the app
 * doesn't carry it.
 */
import type { ClosableProvider, Destination, ExternalChannel, OutboundMessage } from './provider.js';

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

/**
 * A provider made by `load` at its first send (a load that failed is tried again at the next);
 * closing one never made does nothing.
 */
export function loadedOnUse(channel: ExternalChannel, load: () => Promise<ClosableProvider>): ClosableProvider {
  let provider: Promise<ClosableProvider> | undefined;
  const loaded = () =>
    (provider ??= load().catch((err: unknown) => {
      provider = undefined;
      throw err;
    }));
  return {
    channel,
    send: (to: Destination, message: OutboundMessage, signal?: AbortSignal) => loaded().then((p) => p.send(to, message, signal)),
    close: async () => {
      await (await provider?.catch(() => undefined))?.close();
    },
  };
}

export function createProviders(settings: ProvidersSettings): Providers {
  const { timeoutMs = 10_000, telegramBotToken: token } = settings;
  const map = new Map<ExternalChannel, ClosableProvider>();
  map.set(
    'WEBHOOK',
    loadedOnUse('WEBHOOK', async () =>
      (await import('./webhook.js')).createWebhookProvider({ allowPrivate: settings.webhookAllowPrivate, timeoutMs, connectTimeoutMs: timeoutMs }),
    ),
  );
  if (token) {
    const apiUrl = settings.telegramApiUrl ? { apiUrl: settings.telegramApiUrl } : {};
    map.set('TELEGRAM', loadedOnUse('TELEGRAM', async () => (await import('./telegram.js')).createTelegramProvider({ token, timeoutMs, ...apiUrl })));
  }
  const wecomUrl = settings.wecomApiUrl ? { apiUrl: settings.wecomApiUrl } : {};
  map.set('WECOM', loadedOnUse('WECOM', async () => (await import('./wecom.js')).createWecomProvider({ timeoutMs, ...wecomUrl })));
  return {
    get: (channel) => map.get(channel),
    close: async () => {
      await Promise.all([...map.values()].map((p) => p.close()));
    },
  };
}
