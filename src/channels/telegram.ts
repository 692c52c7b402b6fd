/**
 * TELEGRAM: Bot API sendMessage to the address's chat id, in plain text (no parse_mode, so
 * nothing in a title is read as markup), cut to 4096 characters.
 * https://core.telegram.org/bots/api#sendmessage
 */
import { Agent, request } from 'undici';
import { scrubSecrets } from './addresses.js';
import { deadline, header, parseRetryAfter, readText, thrownResult } from './http.js';
import { TELEGRAM_TEXT_MAX_CHARS } from './limits.js';
import type { ClosableProvider, SendResult } from './provider.js';
import { cutToChars } from './render.js';

export interface TelegramProviderOptions {
  /** TELEGRAM_BOT_TOKEN */
  token: string;
  /** TELEGRAM_API_URL @default 'https://api.telegram.org' */
  apiUrl?: string;
  /** the whole request @default 10_000 */
  timeoutMs?: number;
}

/** The Bot API's answer: https://core.telegram.org/bots/api#making-requests */
interface BotApiResponse {
  ok?: boolean;
  error_code?: number;
  description?: string;
  parameters?: { retry_after?: number; migrate_to_chat_id?: number };
}

export function createTelegramProvider(options: TelegramProviderOptions): ClosableProvider {
  const { token, apiUrl = 'https://api.telegram.org', timeoutMs = 10_000 } = options;
  const endpoint = `${apiUrl.replace(/\/+$/, '')}/bot${token}/sendMessage`;
  // the operator's own endpoint: no address guard, just timeouts
  const agent = new Agent({ connect: { timeout: timeoutMs }, headersTimeout: timeoutMs, bodyTimeout: timeoutMs });

  async function attempt(chatId: string, text: string, signal?: AbortSignal): Promise<SendResult> {
    const limit = deadline(timeoutMs, signal);
    try {
      const res = await request(endpoint, {
        dispatcher: agent,
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ chat_id: chatIdValue(chatId), text: cutToChars(text, TELEGRAM_TEXT_MAX_CHARS) }),
        signal: limit.signal,
      });
      const raw = await readText(res.body);
      let answer: BotApiResponse | null = null;
      try {
        answer = JSON.parse(raw) as BotApiResponse;
      } catch {
        answer = null;
      }
      return classifyTelegram(res.statusCode, answer, header(res.headers, 'retry-after'));
    } catch (err) {
      return thrownResult(err, timeoutMs, limit.timedOut());
    } finally {
      limit.done();
    }
  }

  return {
    channel: 'TELEGRAM',
    async send(to, message, signal) {
      const result = await attempt(to.address, message.text, signal);
      if (result.kind === 'ok') return result;
      return { ...result, error: scrubSecrets(result.error, [token, endpoint]) };
    },
    close: () => agent.close(),
  };
}

/** A numeric id goes as a number, as the API documents it, unless a double can't hold it; @username as a string. */
function chatIdValue(chatId: string): number | string {
  if (!/^-?\d+$/.test(chatId)) return chatId;
  const n = Number(chatId);
  return Number.isSafeInteger(n) ? n : chatId;
}

/**
 * ok:true → ok. 429 → retry after `parameters.retry_after`. 5xx → retry. A chat that moved to a
 * supergroup → fail naming the new id. 400 (chat not found), 403 (bot blocked or kicked), 401
 * and 404 (the token is wrong: every send would fail until the operator fixes it) → fail.
 */
export function classifyTelegram(status: number, answer: BotApiResponse | null, retryAfterHeader?: string): SendResult {
  const code = answer?.error_code ?? status;
  const what = answer?.description ? `: ${answer.description}` : '';
  if (answer?.ok === true && status >= 200 && status < 300) return { kind: 'ok' };
  if (!answer) {
    // not the Bot API talking (a proxy, an outage page): judge by the status alone
    if (status === 429 || status === 408 || status >= 500 || (status >= 200 && status < 300)) {
      return { kind: 'retry', error: `HTTP ${status}: not a Bot API answer` };
    }
    return { kind: 'fail', error: `HTTP ${status}: not a Bot API answer` };
  }
  if (code === 429) {
    const seconds = answer.parameters?.retry_after;
    const after = typeof seconds === 'number' && seconds >= 0 ? seconds * 1000 : parseRetryAfter(retryAfterHeader);
    return { kind: 'retry', error: `Telegram ${code}${what}`, ...(after !== undefined ? { retryAfterMs: after } : {}) };
  }
  if (code >= 500 || code === 408) return { kind: 'retry', error: `Telegram ${code}${what}` };
  const moved = answer.parameters?.migrate_to_chat_id;
  if (moved !== undefined) return { kind: 'fail', error: `Telegram ${code}${what} (the group is now chat ${moved}: set that id)` };
  if (code === 401 || code === 404) return { kind: 'fail', error: `Telegram ${code}${what} (the bot token was refused)` };
  return { kind: 'fail', error: `Telegram ${code}${what}` };
}
