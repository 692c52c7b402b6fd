/**
 * Fake providers as real HTTP servers on 127.0.0.1, port 0: a webhook receiver that verifies
 * Standard Webhooks signatures and drops duplicate webhook-ids, a Telegram Bot API and a WeCom
 * group robot. Each can be told to answer something else for its next requests.
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

/** An answer to give instead of the normal one. */
export interface ScriptedResponse {
  status: number;
  headers?: Record<string, string>;
  /** an object is sent as JSON */
  body?: string | object;
  /** never answer (until the server closes): for timeouts */
  hang?: boolean;
}

interface Waiter {
  ready(): boolean;
  resolve(): void;
}

/** What every fake shares: the server, a script of answers, connection counts, waiting. */
abstract class FakeServer {
  /** base URL, e.g. http://127.0.0.1:40123 */
  url = '';
  /** TCP connections accepted (to prove a refusal happened before connecting) */
  connections = 0;
  /** every request, in order of arrival */
  readonly log: { method: string; path: string }[] = [];
  private readonly script: ScriptedResponse[] = [];
  private readonly waiters = new Set<Waiter>();
  private readonly server: Server;
  private readonly hanging = new Set<ServerResponse>();

  constructor() {
    this.server = createServer((req, res) => void this.onRequest(req, res));
    this.server.on('connection', () => {
      this.connections += 1;
    });
  }

  async start(): Promise<this> {
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** The next `n` requests get `response` instead of the normal answer. */
  failNext(n: number, response: ScriptedResponse): void {
    for (let i = 0; i < n; i += 1) this.script.push(response);
  }

  /** Resolves when `ready()` holds, checked after every request; rejects after `timeoutMs`. */
  waitUntil(ready: () => boolean, timeoutMs = 5_000): Promise<void> {
    if (ready()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new Error(`${this.constructor.name}: condition not met within ${timeoutMs} ms`));
      }, timeoutMs);
      const waiter: Waiter = {
        ready,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      this.waiters.add(waiter);
    });
  }

  async close(): Promise<void> {
    for (const res of this.hanging) res.destroy();
    this.server.closeAllConnections();
    this.server.close();
    await once(this.server, 'close');
  }

  /** The normal answer to one request, with its body read. */
  protected abstract handle(req: IncomingMessage, body: string, scripted: ScriptedResponse | undefined): ScriptedResponse;

  private async onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    this.log.push({ method: req.method ?? '', path: req.url ?? '' });
    const answer = this.handle(req, body, this.script.shift());
    if (answer.hang) {
      this.hanging.add(res);
    } else {
      const text = typeof answer.body === 'string' ? answer.body : answer.body === undefined ? '' : JSON.stringify(answer.body);
      const type = typeof answer.body === 'object' ? { 'content-type': 'application/json' } : {};
      res.writeHead(answer.status, { ...type, ...answer.headers });
      res.end(text);
    }
    for (const w of this.waiters) {
      if (w.ready()) {
        this.waiters.delete(w);
        w.resolve();
      }
    }
  }
}

export interface ReceivedWebhook {
  id: string;
  timestamp: string;
  signature: string;
  body: string;
  /** the signature checked out with one of the receiver's secrets */
  verified: boolean;
  /** the status the receiver answered */
  status: number;
}

/**
 * A webhook receiver: verifies each request with the standardwebhooks library against the
 * secrets it was given, answers 401 to a bad signature, and accepts each webhook-id once
 * (a duplicate gets 200 and is counted, not accepted again).
 */
export class FakeWebhookReceiver extends FakeServer {
  /** every request that reached the receiver */
  readonly requests: ReceivedWebhook[] = [];
  /** first receipt of each webhook-id with a good signature, in order */
  readonly accepted: ReceivedWebhook[] = [];
  /** requests carrying a webhook-id already accepted */
  duplicates = 0;
  private readonly secrets = new Set<string>();
  private readonly seen = new Set<string>();

  constructor(secrets: string[] = []) {
    super();
    for (const s of secrets) this.secrets.add(s);
  }

  /** Trust one more signing secret (e.g. the one setChannelAddress returned). */
  addSecret(secret: string): void {
    this.secrets.add(secret);
  }

  /** A URL on this receiver, e.g. `receiver.at('/hooks/alice')`. */
  at(path = '/hook'): string {
    return `${this.url}${path}`;
  }

  waitForAccepted(n: number, timeoutMs?: number): Promise<void> {
    return this.waitUntil(() => this.accepted.length >= n, timeoutMs);
  }

  protected handle(req: IncomingMessage, body: string, scripted: ScriptedResponse | undefined): ScriptedResponse {
    const headers = {
      'webhook-id': String(req.headers['webhook-id'] ?? ''),
      'webhook-timestamp': String(req.headers['webhook-timestamp'] ?? ''),
      'webhook-signature': String(req.headers['webhook-signature'] ?? ''),
    };
    let verified = false;
    for (const secret of this.secrets) {
      try {
        new Webhook(secret).verify(body, headers);
        verified = true;
        break;
      } catch {
        // try the next secret
      }
    }
    const answer: ScriptedResponse = scripted ?? (!verified ? { status: 401, body: 'bad signature' } : { status: 204 });
    const received: ReceivedWebhook = {
      id: headers['webhook-id'],
      timestamp: headers['webhook-timestamp'],
      signature: headers['webhook-signature'],
      body,
      verified,
      status: answer.status,
    };
    this.requests.push(received);
    if (!scripted && verified) {
      if (this.seen.has(received.id)) {
        this.duplicates += 1;
        return { status: 200 };
      }
      this.seen.add(received.id);
      this.accepted.push(received);
    }
    return answer;
  }
}

export async function startWebhookReceiver(secrets: string[] = []): Promise<FakeWebhookReceiver> {
  return new FakeWebhookReceiver(secrets).start();
}

/** A Telegram Bot API error, as the API sends it. */
export function telegramError(code: number, description: string, parameters?: Record<string, unknown>): ScriptedResponse {
  return { status: code, body: { ok: false, error_code: code, description, ...(parameters ? { parameters } : {}) } };
}

/**
 * The Bot API's sendMessage for one bot token. Unknown chats get 400 "chat not found",
 * blocked chats 403, a wrong token 401.
 */
export class FakeTelegram extends FakeServer {
  readonly messages: { chatId: string | number; text: string; body: Record<string, unknown> }[] = [];
  readonly unknownChats = new Set<string>();
  readonly blockedChats = new Set<string>();

  constructor(readonly token: string) {
    super();
  }

  waitForMessages(n: number, timeoutMs?: number): Promise<void> {
    return this.waitUntil(() => this.messages.length >= n, timeoutMs);
  }

  protected handle(req: IncomingMessage, body: string, scripted: ScriptedResponse | undefined): ScriptedResponse {
    const match = /^\/bot([^/]+)\/(\w+)$/.exec(req.url ?? '');
    if (!match || req.method !== 'POST') return telegramError(404, 'Not Found');
    if (decodeURIComponent(match[1] ?? '') !== this.token) return telegramError(401, 'Unauthorized');
    if (match[2] !== 'sendMessage') return telegramError(404, 'Not Found: method not found');
    if (scripted) return scripted;
    let parsed: Record<string, unknown>;
    try {
      parsed = JSON.parse(body) as Record<string, unknown>;
    } catch {
      return telegramError(400, "Bad Request: can't parse JSON");
    }
    const chatId = parsed.chat_id;
    const text = parsed.text;
    if ((typeof chatId !== 'number' && typeof chatId !== 'string') || typeof text !== 'string') {
      return telegramError(400, 'Bad Request: chat_id and text are required');
    }
    if (text.length === 0 || text.length > 4096) return telegramError(400, 'Bad Request: message is too long');
    if (this.unknownChats.has(String(chatId))) return telegramError(400, 'Bad Request: chat not found');
    if (this.blockedChats.has(String(chatId))) return telegramError(403, 'Forbidden: bot was blocked by the user');
    this.messages.push({ chatId, text, body: parsed });
    return { status: 200, body: { ok: true, result: { message_id: this.messages.length, chat: { id: chatId }, text } } };
  }
}

export async function startFakeTelegram(token: string): Promise<FakeTelegram> {
  return new FakeTelegram(token).start();
}

/** A WeCom robot answer: HTTP 200 with an errcode. */
export function wecomError(errcode: number, errmsg: string): ScriptedResponse {
  return { status: 200, body: { errcode, errmsg } };
}

/**
 * WeCom group robots, one per known key: `POST /cgi-bin/webhook/send?key=…`. An unknown key
 * gets errcode 93000; with `perMinute` set, the key's next send over it gets 45009.
 */
export class FakeWecom extends FakeServer {
  readonly messages: { key: string; content: string; body: Record<string, unknown> }[] = [];
  readonly keys: Set<string>;
  private readonly sentAt = new Map<string, number[]>();

  constructor(keys: string[], private readonly perMinute?: number, private readonly now: () => number = Date.now) {
    super();
    this.keys = new Set(keys);
  }

  waitForMessages(n: number, timeoutMs?: number): Promise<void> {
    return this.waitUntil(() => this.messages.length >= n, timeoutMs);
  }

  protected handle(req: IncomingMessage, body: string, scripted: ScriptedResponse | undefined): ScriptedResponse {
    const url = new URL(req.url ?? '/', 'http://fake');
    if (req.method !== 'POST' || url.pathname !== '/cgi-bin/webhook/send') return { status: 404, body: 'not found' };
    if (scripted) return scripted;
    const key = url.searchParams.get('key') ?? '';
    if (!this.keys.has(key)) return wecomError(93000, 'invalid webhook url, hint: [fake]');
    let parsed: { msgtype?: unknown; text?: { content?: unknown } };
    try {
      parsed = JSON.parse(body) as typeof parsed;
    } catch {
      return wecomError(40008, 'invalid message type');
    }
    const content = parsed.text?.content;
    if (parsed.msgtype !== 'text' || typeof content !== 'string') return wecomError(40008, 'invalid message type');
    if (content.length === 0) return wecomError(44004, 'empty content');
    if (Buffer.byteLength(content, 'utf8') > 2048) return wecomError(45002, 'content exceed max length');
    if (this.perMinute !== undefined) {
      const now = this.now();
      const recent = (this.sentAt.get(key) ?? []).filter((t) => now - t < 60_000);
      if (recent.length >= this.perMinute) return wecomError(45009, 'api freq out of limit');
      recent.push(now);
      this.sentAt.set(key, recent);
    }
    this.messages.push({ key, content, body: parsed as Record<string, unknown> });
    return { status: 200, body: { errcode: 0, errmsg: 'ok' } };
  }
}

export async function startFakeWecom(keys: string[], options: { perMinute?: number; now?: () => number } = {}): Promise<FakeWecom> {
  return new FakeWecom(keys, options.perMinute, options.now).start();
}

/** A loopback port that nothing listens on (it was free a moment ago): a connection is refused. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  server.close();
  await once(server, 'close');
  return port;
}
