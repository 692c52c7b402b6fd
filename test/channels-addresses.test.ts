/**
 * The pure parts of the channels: address rules, masking, scrubbing, the address ranges the
 * SSRF guard refuses, rendering, the per-channel cuts, status classification and the limits.
 */
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { AddressError, generateWebhookSecret, maskAddress, scrubSecrets, validateAddress, webhookSecrets } from '../src/channels/addresses.js';
import { parseRetryAfter } from '../src/channels/http.js';
import { CHANNEL_LIMITS } from '../src/channels/limits.js';
import { EXTERNAL_CHANNELS } from '../src/channels/provider.js';
import { cutToChars, cutToUtf8Bytes, renderMessage } from '../src/channels/render.js';
import { addressRange, isPublicAddress } from '../src/channels/ssrf.js';
import { classifyTelegram } from '../src/channels/telegram.js';
import { classifyStatus } from '../src/channels/webhook.js';
import { classifyWecom } from '../src/channels/wecom.js';

const strict = { allowPrivate: false };
const open = { allowPrivate: true };

function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(AddressError);
    return (err as Error).message;
  }
  throw new Error('expected an AddressError');
}

describe('validateAddress', () => {
  it('takes an https URL and normalises it (host case, no fragment)', () => {
    expect(validateAddress('WEBHOOK', ' https://Hooks.Example.com/in/abc?x=1#frag ', strict)).toBe('https://hooks.example.com/in/abc?x=1');
  });

  it('refuses http unless private addresses are allowed', () => {
    expect(refusal(() => validateAddress('WEBHOOK', 'http://hooks.example.com/x', strict))).toMatch(/https/);
    expect(validateAddress('WEBHOOK', 'http://127.0.0.1:8080/x', open)).toBe('http://127.0.0.1:8080/x');
  });

  it('refuses credentials, other schemes, relative and overlong URLs', () => {
    expect(refusal(() => validateAddress('WEBHOOK', 'https://user:pw@hooks.example.com/', strict))).toMatch(/credentials/);
    expect(refusal(() => validateAddress('WEBHOOK', 'ftp://hooks.example.com/', open))).toMatch(/https/);
    expect(refusal(() => validateAddress('WEBHOOK', '/relative/path', strict))).toMatch(/absolute/);
    expect(refusal(() => validateAddress('WEBHOOK', `https://hooks.example.com/${'a'.repeat(2048)}`, strict))).toMatch(/2048/);
  });

  it.each([
    ['https://127.0.0.1/x', 'loopback'],
    ['https://2130706433/x', 'loopback'], // 127.0.0.1 written as one number
    ['https://[::1]/x', 'loopback'],
    ['https://[::ffff:127.0.0.1]/x', 'loopback'],
    ['https://0.0.0.0/x', 'unspecified'],
    ['https://[::]/x', 'unspecified'],
    ['https://100.64.0.1/x', 'carrierGradeNat'],
    ['https://[fd00::1]/x', 'uniqueLocal'],
    ['https://[fe80::1]/x', 'linkLocal'],
    ['https://224.0.0.1/x', 'multicast'],
    ['https://localhost:8443/x', 'loopback'],
    ['https://api.localhost/x', 'loopback'],
  ])('refuses a literal non-public host %s without allowPrivate', (url, range) => {
    expect(refusal(() => validateAddress('WEBHOOK', url, strict))).toContain(range);
    expect(() => validateAddress('WEBHOOK', url, open)).not.toThrow();
  });

  it('leaves hostnames to the connect-time check', () => {
    expect(validateAddress('WEBHOOK', 'https://hooks.example.com/x', strict)).toBe('https://hooks.example.com/x');
  });

  it('takes a Telegram chat id or @channelusername', () => {
    expect(validateAddress('TELEGRAM', '123456789', strict)).toBe('123456789');
    expect(validateAddress('TELEGRAM', ' -1001234567890 ', strict)).toBe('-1001234567890');
    expect(validateAddress('TELEGRAM', '@news_channel', strict)).toBe('@news_channel');
    for (const bad of ['', '12a', '0', '-0', '@abc', '@1channel', 'https://t.me/x', '1'.repeat(21)]) {
      expect(refusal(() => validateAddress('TELEGRAM', bad, strict))).toMatch(/chat id/);
    }
  });

  it('takes a WeCom robot key, or the robot URL and keeps its key', () => {
    const key = '693a91f6-7aaa-4bc4-97a0-0ec2aaaa5aaa';
    expect(validateAddress('WECOM', key, strict)).toBe(key);
    expect(validateAddress('WECOM', `https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=${key}`, strict)).toBe(key);
    for (const bad of ['short', 'has spaces in it', 'semi;colon-0123456789', 'x'.repeat(65), 'https://qyapi.weixin.qq.com/cgi-bin/webhook/send']) {
      expect(refusal(() => validateAddress('WECOM', bad, strict))).toMatch(/robot key/);
    }
  });
});

describe('maskAddress', () => {
  it('shows a webhook URL by scheme, host, port and the last four of its path and query', () => {
    expect(maskAddress('WEBHOOK', 'https://hooks.example.com/in/T0K3N-abcdef-3f9a')).toBe('https://hooks.example.com/…3f9a');
    expect(maskAddress('WEBHOOK', 'https://hooks.example.com:8443/x?token=secret-value-9z8y')).toBe('https://hooks.example.com:8443/…9z8y');
    expect(maskAddress('WEBHOOK', 'https://hooks.example.com/')).toBe('https://hooks.example.com/');
    // a short path would be given away whole by its last four
    expect(maskAddress('WEBHOOK', 'https://hooks.example.com/abcd')).toBe('https://hooks.example.com/…');
  });

  it('shows the last four of a WeCom key and a Telegram chat id as is', () => {
    expect(maskAddress('WECOM', '693a91f6-7aaa-4bc4-97a0-0ec2aaaa5aaa')).toBe('…5aaa');
    expect(maskAddress('TELEGRAM', '-1001234567890')).toBe('-1001234567890');
  });
});

describe('scrubSecrets', () => {
  it('replaces each secret, raw and URL-encoded, with ***', () => {
    const token = '123456:AAH-secret_Token';
    const text = `POST /bot${token}/sendMessage failed; /bot${encodeURIComponent(token)}/x; ${encodeURIComponent(token).replace('%3A', '%3a')}`;
    const out = scrubSecrets(text, [token]);
    expect(out).not.toContain('AAH-secret_Token');
    expect(out).toBe('POST /bot***/sendMessage failed; /bot***/x; ***');
  });

  it('scrubs a webhook URL and its path and query, leaving the host', () => {
    const url = 'https://hooks.example.com/in/s3cret-path?sig=abcdef';
    const out = scrubSecrets(`request to ${url} failed; path /in/s3cret-path?sig=abcdef; query sig=abcdef`, webhookSecrets(url));
    expect(out).toBe('request to *** failed; path ***; query ***');
  });

  it('ignores empty and very short secrets', () => {
    expect(scrubSecrets('a/b/c', ['/', '', undefined, null])).toBe('a/b/c');
  });
});

describe('the address ranges the guard refuses', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.255.0.9', 'loopback'],
    ['::1', 'loopback'],
    ['0.0.0.0', 'unspecified'],
    ['::', 'unspecified'],
    ['100.64.0.1', 'carrierGradeNat'],
    ['100.127.255.254', 'carrierGradeNat'],
    ['fc00::1', 'uniqueLocal'],
    ['fd12:3456::1', 'uniqueLocal'],
    ['fe80::1', 'linkLocal'],
    ['224.0.0.251', 'multicast'],
    ['ff02::1', 'multicast'],
    ['255.255.255.255', 'broadcast'],
    ['240.0.0.1', 'reserved'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:100.64.0.1', 'carrierGradeNat'],
    ['::ffff:0.0.0.0', 'unspecified'],
    ['64:ff9b::7f00:1', 'rfc6052'], // NAT64 form of 127.0.0.1
    ['2002:7f00:1::', '6to4'],
  ])('%s is %s, not public', (ip, range) => {
    expect(addressRange(ip)).toBe(range);
    expect(isPublicAddress(ip)).toBe(false);
  });

  it('public unicast addresses pass', () => {
    for (const ip of ['93.184.216.34', '1.1.1.1', '2606:4700:4700::1111', '::ffff:93.184.216.34']) {
      expect(isPublicAddress(ip)).toBe(true);
    }
  });

  it('a name is not an address', () => {
    expect(addressRange('hooks.example.com')).toBeNull();
    expect(isPublicAddress('hooks.example.com')).toBe(false);
  });
});

describe('renderMessage', () => {
  const n = {
    id: 'n1',
    userId: 'alice',
    type: 'order.shipped',
    title: 'Shipped',
    body: 'Your order is on its way',
    priority: 'HIGH',
    data: { orderId: 42, tags: ['a'] },
    createdAt: Date.UTC(2026, 0, 2, 3, 4, 5),
  };

  it('makes the Standard Webhooks style payload and the plain text', () => {
    const m = renderMessage('d1', n, Date.UTC(2026, 0, 2, 3, 4, 6));
    expect(m).toEqual({
      deliveryId: 'd1',
      payload: {
        type: 'notification.created',
        timestamp: '2026-01-02T03:04:06.000Z',
        data: { ...n, createdAt: '2026-01-02T03:04:05.000Z' },
      },
      text: 'Shipped\n\nYour order is on its way',
    });
  });

  it('is the title alone without a body', () => {
    expect(renderMessage('d1', { ...n, body: null, data: null }).text).toBe('Shipped');
    expect(renderMessage('d1', { ...n, body: '' }).text).toBe('Shipped');
  });
});

describe('text cuts', () => {
  it('cuts at 4096 UTF-16 units with an ellipsis, and leaves a text that fits', () => {
    const long = 'x'.repeat(5000);
    const cut = cutToChars(long, 4096);
    expect(cut).toHaveLength(4096);
    expect(cut.endsWith('x…')).toBe(true);
    expect(cutToChars('y'.repeat(4096), 4096)).toBe('y'.repeat(4096));
  });

  it('never splits a surrogate pair', () => {
    const text = 'a'.repeat(4094) + '😀'.repeat(10); // the pair straddles the cut
    const cut = cutToChars(text, 4096);
    expect(cut.length).toBeLessThanOrEqual(4096);
    expect(cut).toBe(`${'a'.repeat(4094)}…`);
    expect(Buffer.from(cut, 'utf8').toString('utf8')).toBe(cut); // no lone surrogate
  });

  it('cuts at 2048 bytes of UTF-8 between characters', () => {
    const han = '中'.repeat(1000); // 3 000 bytes
    const cut = cutToUtf8Bytes(han, 2048);
    expect(Buffer.byteLength(cut, 'utf8')).toBeLessThanOrEqual(2048);
    expect(cut).toBe(`${'中'.repeat(681)}…`); // 681 × 3 + 3 = 2046; one more would not fit
    const emoji = `${'a'.repeat(2043)}😀😀`; // 2043 + 8 bytes
    expect(cutToUtf8Bytes(emoji, 2048)).toBe(`${'a'.repeat(2043)}…`);
    const fits = 'é'.repeat(1024); // exactly 2048 bytes
    expect(cutToUtf8Bytes(fits, 2048)).toBe(fits);
  });
});

describe('classification', () => {
  const now = Date.UTC(2026, 0, 1, 0, 0, 0);

  it.each([
    [200, { kind: 'ok' }],
    [204, { kind: 'ok' }],
    [301, { kind: 'fail', error: 'HTTP 301: redirect not followed' }],
    [307, { kind: 'fail', error: 'HTTP 307: redirect not followed' }],
    [400, { kind: 'fail', error: 'HTTP 400' }],
    [404, { kind: 'fail', error: 'HTTP 404' }],
    [410, { kind: 'fail', error: 'HTTP 410' }],
    [408, { kind: 'retry', error: 'HTTP 408' }],
    [429, { kind: 'retry', error: 'HTTP 429 Too Many Requests' }],
    [500, { kind: 'retry', error: 'HTTP 500' }],
    [503, { kind: 'retry', error: 'HTTP 503' }],
  ])('webhook HTTP %i', (status, expected) => {
    expect(classifyStatus(status, undefined, now)).toEqual(expected);
  });

  it('reads Retry-After as seconds or as an HTTP date', () => {
    expect(classifyStatus(429, '7', now)).toEqual({ kind: 'retry', error: 'HTTP 429 Too Many Requests', retryAfterMs: 7000 });
    expect(classifyStatus(429, new Date(now + 90_000).toUTCString(), now)).toMatchObject({ retryAfterMs: 90_000 });
    expect(classifyStatus(503, '3', now)).toMatchObject({ kind: 'retry', retryAfterMs: 3000 });
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(new Date(now - 5_000).toUTCString(), now)).toBe(0);
  });

  it('Telegram: retry_after, 5xx, permanent 4xx, a migrated group, no Bot API answer', () => {
    expect(classifyTelegram(200, { ok: true })).toEqual({ kind: 'ok' });
    expect(classifyTelegram(429, { ok: false, error_code: 429, description: 'Too Many Requests: retry after 5', parameters: { retry_after: 5 } })).toEqual({
      kind: 'retry',
      error: 'Telegram 429: Too Many Requests: retry after 5',
      retryAfterMs: 5000,
    });
    expect(classifyTelegram(502, { ok: false, error_code: 502, description: 'Bad Gateway' }).kind).toBe('retry');
    expect(classifyTelegram(400, { ok: false, error_code: 400, description: 'Bad Request: chat not found' })).toEqual({ kind: 'fail', error: 'Telegram 400: Bad Request: chat not found' });
    expect(classifyTelegram(403, { ok: false, error_code: 403, description: 'Forbidden: bot was blocked by the user' }).kind).toBe('fail');
    expect(classifyTelegram(400, { ok: false, error_code: 400, description: 'Bad Request: group chat was upgraded to a supergroup chat', parameters: { migrate_to_chat_id: -1001 } })).toMatchObject({ kind: 'fail', error: expect.stringContaining('chat -1001') });
    expect(classifyTelegram(200, { ok: false, error_code: 400, description: 'Bad Request: x' }).kind).toBe('fail');
    expect(classifyTelegram(503, null).kind).toBe('retry');
    expect(classifyTelegram(400, null).kind).toBe('fail');
  });

  it('WeCom: errcode 0, the retryable codes, the rest permanent, non-200 by status', () => {
    expect(classifyWecom(200, { errcode: 0, errmsg: 'ok' })).toEqual({ kind: 'ok' });
    expect(classifyWecom(200, { errcode: 45009, errmsg: 'api freq out of limit' })).toEqual({ kind: 'retry', error: 'WeCom errcode 45009: api freq out of limit', retryAfterMs: 60_000 });
    expect(classifyWecom(200, { errcode: -1, errmsg: 'system busy' })).toEqual({ kind: 'retry', error: 'WeCom errcode -1: system busy' });
    expect(classifyWecom(200, { errcode: 45033, errmsg: 'api concurrent out of limit' }).kind).toBe('retry');
    expect(classifyWecom(200, { errcode: 93000, errmsg: 'invalid webhook url, hint: [1], from ip: 203.0.113.9, more info at https://open.work.weixin.qq.com/devtool/query?e=93000' })).toEqual({
      kind: 'fail',
      error: 'WeCom errcode 93000: invalid webhook url, hint: [1], more info at https://open.work.weixin.qq.com/devtool/query?e=93000',
    });
    expect(classifyWecom(200, { errcode: 40008, errmsg: 'invalid message type' }).kind).toBe('fail');
    expect(classifyWecom(502, null).kind).toBe('retry');
    expect(classifyWecom(404, null).kind).toBe('fail');
    expect(classifyWecom(200, null).kind).toBe('retry');
  });
});

describe('webhook secrets and limits', () => {
  it('generateWebhookSecret makes a fresh whsec_ secret of 32 random bytes that signs', () => {
    const a = generateWebhookSecret();
    const b = generateWebhookSecret();
    expect(a).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    expect(Buffer.from(a.slice('whsec_'.length), 'base64')).toHaveLength(32);
    expect(a).not.toBe(b);
    const signed = new Webhook(a).sign('msg_1', new Date(), '{}');
    expect(signed).toMatch(/^v1,/);
  });

  it('every external channel has limits, each rate with its source', () => {
    for (const channel of EXTERNAL_CHANNELS) {
      const limits = CHANNEL_LIMITS[channel];
      expect(limits.rates.length).toBeGreaterThan(0);
      for (const r of limits.rates) expect(r.source.length).toBeGreaterThan(20);
    }
    expect(CHANNEL_LIMITS.TELEGRAM.rates.map((r) => [r.scope, r.points, r.durationMs])).toEqual([
      ['chat', 1, 1000],
      ['bot', 30, 1000],
    ]);
    expect(CHANNEL_LIMITS.WECOM.rates.map((r) => [r.scope, r.points, r.durationMs])).toEqual([['robot', 20, 60_000]]);
  });
});
