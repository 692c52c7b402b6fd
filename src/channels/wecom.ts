/**
 * WECOM: a group robot's webhook, `msgtype: text` (WeCom markdown has no escaping, so a title
 * could inject links), content cut to 2048 bytes of UTF-8.
 * https://developer.work.weixin.qq.com/document/path/91770
 */
import { Agent, request } from 'undici';
import { scrubSecrets } from './addresses.js';
import { deadline, readText, thrownResult } from './http.js';
import { WECOM_RATE_LIMIT_RETRY_MS, WECOM_TEXT_MAX_BYTES } from './limits.js';
import type { ClosableProvider, SendResult } from './provider.js';
import { cutToUtf8Bytes } from './render.js';

export interface WecomProviderOptions {
  /** WECOM_API_URL @default 'https://qyapi.weixin.qq.com' */
  apiUrl?: string;
  /** the whole request @default 10_000 */
  timeoutMs?: number;
}

/**
 * errcodes that pass with time (https://developer.work.weixin.qq.com/document/path/90313):
 * -1 system busy, 45009 rate limit (20 a minute per robot), 45033 too many concurrent calls.
 * Every other non-zero errcode is about the request or the robot (93000: invalid key or robot
 * removed from the group, 40008 bad msgtype, 44004 empty text, ...) and fails at once.
 */
export const WECOM_RETRY_ERRCODES: Readonly<Record<number, number | undefined>> = {
  [-1]: undefined,
  45009: WECOM_RATE_LIMIT_RETRY_MS,
  45033: undefined,
};

interface RobotResponse {
  errcode?: number;
  errmsg?: string;
}

export function createWecomProvider(options: WecomProviderOptions = {}): ClosableProvider {
  const { apiUrl = 'https://qyapi.weixin.qq.com', timeoutMs = 10_000 } = options;
  const base = `${apiUrl.replace(/\/+$/, '')}/cgi-bin/webhook/send`;
  const agent = new Agent({ connect: { timeout: timeoutMs }, headersTimeout: timeoutMs, bodyTimeout: timeoutMs });

  async function attempt(key: string, text: string, signal?: AbortSignal): Promise<SendResult> {
    const limit = deadline(timeoutMs, signal);
    try {
      const res = await request(`${base}?key=${encodeURIComponent(key)}`, {
        dispatcher: agent,
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ msgtype: 'text', text: { content: cutToUtf8Bytes(text, WECOM_TEXT_MAX_BYTES) } }),
        signal: limit.signal,
      });
      const raw = await readText(res.body);
      let answer: RobotResponse | null;
      try {
        answer = JSON.parse(raw) as RobotResponse;
      } catch {
        answer = null;
      }
      return classifyWecom(res.statusCode, answer);
    } catch (err) {
      return thrownResult(err, timeoutMs, limit.timedOut());
    } finally {
      limit.done();
    }
  }

  return {
    channel: 'WECOM',
    async send(to, message, signal) {
      const result = await attempt(to.address, message.text, signal);
      if (result.kind === 'ok') return result;
      return { ...result, error: scrubSecrets(result.error, [to.address]) };
    },
    close: () => agent.close(),
  };
}

/** WeCom answers HTTP 200 with an errcode; a non-200 is a gateway or outage, judged by status. */
export function classifyWecom(status: number, answer: RobotResponse | null): SendResult {
  if (status !== 200 || !answer || typeof answer.errcode !== 'number') {
    if (status === 429 || status === 408 || status >= 500 || status === 200) {
      return { kind: 'retry', error: `HTTP ${status}${status === 200 ? ': not a robot answer' : ''}` };
    }
    return { kind: 'fail', error: `HTTP ${status}` };
  }
  if (answer.errcode === 0) return { kind: 'ok' };
  // errmsg names our egress IP ("from ip: …"): not for the recipient's eyes
  const errmsg = answer.errmsg?.replace(/,?\s*from ip: [^,]*/i, '');
  const error = `WeCom errcode ${answer.errcode}${errmsg ? `: ${errmsg}` : ''}`;
  if (answer.errcode in WECOM_RETRY_ERRCODES) {
    const after = WECOM_RETRY_ERRCODES[answer.errcode];
    return { kind: 'retry', error, ...(after !== undefined ? { retryAfterMs: after } : {}) };
  }
  return { kind: 'fail', error };
}
