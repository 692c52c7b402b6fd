/**
 * Provider limits as data. The providers only cut texts; the outbox enforces the rates and the
 * concurrency (across instances), keyed as `scope` says.
 */
import type { ExternalChannel } from './provider.js';

export interface RateLimit {
  /** what one bucket counts: one chat, one bot (the deployment's token), one robot key, one host */
  scope: 'chat' | 'bot' | 'robot' | 'host';
  /** at most `points` sends per `durationMs` in one bucket (0 = no rate, see `concurrency`) */
  points: number;
  durationMs: number;
  /** at most this many requests in flight per bucket (unset: no limit of this kind) */
  concurrency?: number;
  /** where the figure comes from */
  source: string;
}

export interface ChannelLimits {
  /** longest text the provider takes, after our cut */
  maxText: { units: 'utf16' | 'utf8-bytes'; max: number } | null;
  rates: readonly RateLimit[];
}

export const TELEGRAM_TEXT_MAX_CHARS = 4096;
export const WECOM_TEXT_MAX_BYTES = 2048;
/** What WeCom's rate limit (errcode 45009) makes us wait when it gives no figure: one minute window. */
export const WECOM_RATE_LIMIT_RETRY_MS = 60_000;
export const WEBHOOK_HOST_CONCURRENCY = 8;

export const CHANNEL_LIMITS: Readonly<Record<ExternalChannel, ChannelLimits>> = {
  TELEGRAM: {
    maxText: { units: 'utf16', max: TELEGRAM_TEXT_MAX_CHARS },
    rates: [
      { scope: 'chat', points: 1, durationMs: 1_000, source: 'https://core.telegram.org/bots/faq#my-bot-is-hitting-limits-how-do-i-avoid-this ("avoid sending more than one message per second" in a chat)' },
      { scope: 'bot', points: 30, durationMs: 1_000, source: 'https://core.telegram.org/bots/faq#my-bot-is-hitting-limits-how-do-i-avoid-this ("not more than 30 messages per second or so")' },
    ],
  },
  WECOM: {
    maxText: { units: 'utf8-bytes', max: WECOM_TEXT_MAX_BYTES },
    rates: [
      { scope: 'robot', points: 20, durationMs: 60_000, source: 'https://developer.work.weixin.qq.com/document/path/91770 ("每个机器人发送的消息不能超过20条/分钟")' },
    ],
  },
  WEBHOOK: {
    maxText: null,
    rates: [
      { scope: 'host', points: 0, durationMs: 0, concurrency: WEBHOOK_HOST_CONCURRENCY, source: 'our default: no receiver publishes a limit; a few requests in flight per host keeps one slow receiver from taking every worker' },
    ],
  },
};
