/**
 * The Telegram and WeCom providers against fake Bot API and robot servers on 127.0.0.1:
 * plain text, cuts, retry classification from the providers' own answers, and secrets
 * (bot token, robot key) kept out of every error.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClosableProvider, OutboundMessage } from '../src/channels/provider.js';
import { createProviders, loadedOnUse } from '../src/channels/providers.js';
import { createTelegramProvider } from '../src/channels/telegram.js';
import { createWecomProvider } from '../src/channels/wecom.js';
import { closedPort, startFakeTelegram, startFakeWecom, telegramError, wecomError, type FakeTelegram, type FakeWecom } from './helpers/fake-providers.js';

const TOKEN = '123456789:AAFake-Bot_Token-abcdefghijklmnopq';
const KEY = '693a91f6-7aaa-4bc4-97a0-0ec2aaaa5aaa';

function msg(text: string): OutboundMessage {
  return { deliveryId: 'dlv_1', payload: {}, text };
}


function errorOf(result: { kind: string; error?: string }): string {
  expect(result.kind).not.toBe('ok');
  return result.error ?? '';
}

describe('Telegram', () => {
  let api: FakeTelegram;
  let telegram: ClosableProvider;

  beforeAll(async () => {
    api = await startFakeTelegram(TOKEN);
    telegram = createTelegramProvider({ token: TOKEN, apiUrl: api.url, timeoutMs: 2_000 });
  });
  afterAll(async () => {
    await telegram.close();
    await api.close();
  });

  it('sends plain text (no parse_mode) to the chat id, a numeric id as a number', async () => {
    expect(await telegram.send({ address: '-1001234567890' }, msg('Shipped\n\n<b>not markup</b>'))).toEqual({ kind: 'ok' });
    expect(api.messages.at(-1)?.body).toEqual({ chat_id: -1001234567890, text: 'Shipped\n\n<b>not markup</b>' });
    expect(await telegram.send({ address: '@news_channel' }, msg('hi'))).toEqual({ kind: 'ok' });
    expect(api.messages.at(-1)?.body).toEqual({ chat_id: '@news_channel', text: 'hi' });
  });

  it('cuts a long text to 4096 characters with an ellipsis', async () => {
    expect(await telegram.send({ address: '42' }, msg('é'.repeat(5000)))).toEqual({ kind: 'ok' });
    const text = api.messages.at(-1)!.text;
    expect(text).toHaveLength(4096);
    expect(text.endsWith('é…')).toBe(true);
  });

  it('429 → retry after parameters.retry_after', async () => {
    api.failNext(1, telegramError(429, 'Too Many Requests: retry after 3', { retry_after: 3 }));
    expect(await telegram.send({ address: '42' }, msg('x'))).toEqual({ kind: 'retry', error: 'Telegram 429: Too Many Requests: retry after 3', retryAfterMs: 3000 });
  });

  it('5xx → retry, and the next attempt goes through', async () => {
    api.failNext(1, telegramError(502, 'Bad Gateway'));
    const count = api.messages.length;
    expect(await telegram.send({ address: '42' }, msg('x'))).toEqual({ kind: 'retry', error: 'Telegram 502: Bad Gateway' });
    expect(await telegram.send({ address: '42' }, msg('x'))).toEqual({ kind: 'ok' });
    expect(api.messages.length).toBe(count + 1);
  });

  it('chat not found (400) and bot blocked (403) → fail', async () => {
    api.unknownChats.add('404404');
    api.blockedChats.add('403403');
    expect(await telegram.send({ address: '404404' }, msg('x'))).toEqual({ kind: 'fail', error: 'Telegram 400: Bad Request: chat not found' });
    expect(await telegram.send({ address: '403403' }, msg('x'))).toEqual({ kind: 'fail', error: 'Telegram 403: Forbidden: bot was blocked by the user' });
  });

  it('a wrong token → fail, and the error never holds a token', async () => {
    const wrong = '987654321:AAWrong-Token-zyxwvutsrqponmlkjih';
    const p = createTelegramProvider({ token: wrong, apiUrl: api.url });
    try {
      const error = errorOf(await p.send({ address: '42' }, msg('x')));
      expect(error).toBe('Telegram 401: Unauthorized (the bot token was refused)');
    } finally {
      await p.close();
    }
  });

  it('scrubs the token when an answer echoes it, raw or URL-encoded', async () => {
    api.failNext(1, telegramError(400, `Bad Request: bot${TOKEN} and ${encodeURIComponent(TOKEN)}`));
    const error = errorOf(await telegram.send({ address: '42' }, msg('x')));
    expect(error).toBe('Telegram 400: Bad Request: bot*** and ***');
  });

  it('an unreachable API → retry, without the token', async () => {
    const p = createTelegramProvider({ token: TOKEN, apiUrl: `http://127.0.0.1:${await closedPort()}` });
    try {
      const result = await p.send({ address: '42' }, msg('x'));
      expect(result.kind).toBe('retry');
      expect(errorOf(result)).not.toContain(TOKEN.split(':')[1]);
    } finally {
      await p.close();
    }
  });
});

describe('WeCom', () => {
  let robot: FakeWecom;
  let wecom: ClosableProvider;

  beforeAll(async () => {
    robot = await startFakeWecom([KEY]);
    wecom = createWecomProvider({ apiUrl: robot.url, timeoutMs: 2_000 });
  });
  afterAll(async () => {
    await wecom.close();
    await robot.close();
  });

  it('posts msgtype text with the content to the robot key', async () => {
    expect(await wecom.send({ address: KEY }, msg('Shipped\n\n[link](https://evil.example)'))).toEqual({ kind: 'ok' });
    expect(robot.messages.at(-1)).toMatchObject({ key: KEY, body: { msgtype: 'text', text: { content: 'Shipped\n\n[link](https://evil.example)' } } });
  });

  it('cuts the content to 2048 bytes of UTF-8 on a character boundary', async () => {
    expect(await wecom.send({ address: KEY }, msg('中文'.repeat(600)))).toEqual({ kind: 'ok' }); // 3 600 bytes
    const content = robot.messages.at(-1)!.content;
    expect(Buffer.byteLength(content, 'utf8')).toBe(2046);
    expect(content).toBe(`${'中文'.repeat(340)}中…`);
  });

  it('errcode 45009 (rate limit) → retry after a minute; the robot limits 20 a minute', async () => {
    const limited = await startFakeWecom([KEY], { perMinute: 20 });
    const p = createWecomProvider({ apiUrl: limited.url });
    try {
      for (let i = 0; i < 20; i += 1) expect(await p.send({ address: KEY }, msg(`m${i}`))).toEqual({ kind: 'ok' });
      expect(await p.send({ address: KEY }, msg('m20'))).toEqual({ kind: 'retry', error: 'WeCom errcode 45009: api freq out of limit', retryAfterMs: 60_000 });
    } finally {
      await p.close();
      await limited.close();
    }
  });

  it('errcode -1 (busy) → retry; HTTP 5xx → retry', async () => {
    robot.failNext(1, wecomError(-1, 'system busy'));
    expect(await wecom.send({ address: KEY }, msg('x'))).toEqual({ kind: 'retry', error: 'WeCom errcode -1: system busy' });
    robot.failNext(1, { status: 503, body: 'upstream down' });
    expect(await wecom.send({ address: KEY }, msg('x'))).toEqual({ kind: 'retry', error: 'HTTP 503' });
  });

  it('errcode 93000 (unknown key) → fail, and the error holds no key', async () => {
    const other = 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee';
    const error = errorOf(await wecom.send({ address: other }, msg('x')));
    expect(error).toBe('WeCom errcode 93000: invalid webhook url, hint: [fake]');
  });

  it('scrubs the key when an answer echoes it, and drops "from ip"', async () => {
    robot.failNext(1, wecomError(93000, `invalid webhook url key=${KEY}, hint: [1], from ip: 203.0.113.7, more info at https://open.work.weixin.qq.com/devtool/query?e=93000`));
    const error = errorOf(await wecom.send({ address: KEY }, msg('x')));
    expect(error).toBe('WeCom errcode 93000: invalid webhook url key=***, hint: [1], more info at https://open.work.weixin.qq.com/devtool/query?e=93000');
  });

  it('an unreachable robot → retry, without the key', async () => {
    const p = createWecomProvider({ apiUrl: `http://127.0.0.1:${await closedPort()}` });
    try {
      const result = await p.send({ address: KEY }, msg('x'));
      expect(result.kind).toBe('retry');
      expect(errorOf(result)).not.toContain(KEY);
    } finally {
      await p.close();
    }
  });
});

describe('createProviders', () => {
  it('makes Telegram only with a bot token, and each provider sends to its configured API', async () => {
    const api = await startFakeTelegram(TOKEN);
    const robot = await startFakeWecom([KEY]);
    const without = createProviders({ webhookAllowPrivate: false });
    const all = createProviders({ webhookAllowPrivate: true, telegramBotToken: TOKEN, telegramApiUrl: api.url, wecomApiUrl: robot.url });
    try {
      expect(without.get('TELEGRAM')).toBeUndefined();
      expect(without.get('WEBHOOK')?.channel).toBe('WEBHOOK');
      expect(await all.get('TELEGRAM')!.send({ address: '42' }, msg('t'))).toEqual({ kind: 'ok' });
      expect(await all.get('WECOM')!.send({ address: KEY }, msg('w'))).toEqual({ kind: 'ok' });
      expect([api.messages.length, robot.messages.length]).toEqual([1, 1]);
    } finally {
      await Promise.all([without.close(), all.close(), api.close(), robot.close()]);
    }
  });

  it("leaves the HTTP client (undici) unloaded until a provider's first send: the app and the delivery worker don't import it", async () => {
    const port = await closedPort();
    // A fresh process: this one has loaded undici already (the fake providers' tests).
    const code = `
      import { createRequire } from 'node:module';
      const loaded = () => Object.keys(createRequire(import.meta.url).cache).some((k) => k.includes('/node_modules/undici/'));
      await import('./src/app.ts');
      await import('./src/channels/delivery-worker.ts');
      const { createProviders } = await import('./src/channels/providers.ts');
      const { generateWebhookSecret } = await import('./src/channels/addresses.ts');
      const providers = createProviders({ webhookAllowPrivate: true });
      const before = loaded();
      const to = { address: 'http://127.0.0.1:${port}/hook', secret: generateWebhookSecret() };
      const result = await providers.get('WEBHOOK').send(to, { deliveryId: 'd1', payload: {}, text: '' });
      console.log(JSON.stringify([before, loaded(), result.kind]));
      await providers.close();`;
    const root = new URL('..', import.meta.url);
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { cwd: root });
    expect(JSON.parse(stdout.trim().split('\n').pop()!)).toEqual([false, true, 'retry']);
  });

  it('loads a provider at its first send, once; a load that failed is tried again; close closes only what was loaded', async () => {
    const events: string[] = [];
    let loads = 0;
    const load = async (): Promise<ClosableProvider> => {
      if (++loads === 1) throw new Error('first load fails');
      return { channel: 'WECOM', send: async () => (events.push('send'), { kind: 'ok' }), close: async () => void events.push('close') };
    };
    const never = loadedOnUse('WECOM', load);
    await never.close();
    expect(loads).toBe(0);
    const p = loadedOnUse('WECOM', load);
    await expect(p.send({ address: KEY }, msg('a'))).rejects.toThrow('first load fails');
    expect(await Promise.all([p.send({ address: KEY }, msg('b')), p.send({ address: KEY }, msg('c'))])).toEqual([{ kind: 'ok' }, { kind: 'ok' }]);
    await p.close();
    expect([loads, events]).toEqual([2, ['send', 'send', 'close']]);
  });
});
