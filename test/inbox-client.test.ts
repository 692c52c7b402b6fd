/**
 * The client kit's inbox client (client/src/inbox-client.ts) against a real server listening
 * in-process, over real graphql-ws sockets and HTTP, through a TCP proxy the test cuts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createInboxClient, type InboxClient, type InboxState } from '../client/src/index.js';
import { createPersistedOperations } from '../src/server/persisted-operations.js';
import { BACKENDS, useTestApp, type TestApp } from './helpers/app.js';
import { startTcpProxy, type TcpProxy } from './helpers/tcp-proxy.js';

const POLL = { timeout: 10_000, interval: 20 };

describe.each(BACKENDS)('inbox client (%s)', (backend) => {
  const app = useTestApp(backend, { clock: 'real', cap: 20 });
  let clients: InboxClient[] = [];
  let proxies: TcpProxy[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await Promise.all(proxies.splice(0).map((p) => p.close()));
  });

  /** A client through a fresh proxy; counts the Notifications (page 1) requests it makes. */
  async function open(t: TestApp, user: string, opts: { pageSize?: number; holdPage?: Promise<void> } = {}) {
    const { http } = await t.listen();
    const proxy = await startTcpProxy(Number(new URL(http).port));
    proxies.push(proxy);
    const pageLoads = { n: 0, answered: 0, consumed: 0 };
    const client = createInboxClient({
      url: `ws://127.0.0.1:${proxy.port}/graphql`,
      token: await t.token(user),
      webSocketImpl: WebSocket,
      pageSize: opts.pageSize,
      maxRetryDelayMs: 300,
      fetch: async (url, init) => {
        if (!String(init?.body).includes('query Notifications')) return fetch(url, init);
        pageLoads.n++;
        const res = await fetch(url, init);
        if (!opts.holdPage) return res;
        const text = await res.text();
        pageLoads.answered++;
        // The server has read the page; its answer reaches the client only when released.
        await opts.holdPage;
        return {
          status: res.status,
          json: async () => {
            pageLoads.consumed++;
            return JSON.parse(text) as unknown;
          },
        } as Response;
      },
    });
    clients.push(client);
    const titles = () => client.getState().items.map((n) => n.title);
    return { client, proxy, pageLoads, titles };
  }

  const send = (t: TestApp, user: string, title: string) => t.app.service.send({ userIds: [user], type: 'task_assigned', title, body: '' });
  const live = (c: InboxClient) => expect.poll(() => c.getState().connection, POLL).toBe('live');

  it('loads page 1 once attached, then adds live notifications once each with the exact count', async () => {
    const t = app();
    for (const title of ['a', 'b', 'c']) await send(t, 'alice', title);
    const { client, pageLoads, titles } = await open(t, 'alice');
    await expect.poll(titles, POLL).toEqual(['c', 'b', 'a']);
    expect(client.getState().unreadCount).toBe(3);
    await send(t, 'alice', 'd');
    await expect.poll(titles, POLL).toEqual(['d', 'c', 'b', 'a']);
    expect(client.getState().unreadCount).toBe(4);
    expect(pageLoads.n).toBe(1);
  });

  it('keeps what the stream brought while page 1 was in flight (a page read before it arrives late)', async () => {
    const t = app();
    let release!: () => void;
    const holdPage = new Promise<void>((r) => (release = r));
    const { client, pageLoads, titles } = await open(t, 'alice', { holdPage });
    await expect.poll(() => pageLoads.answered, POLL).toBe(1);
    await send(t, 'alice', 'x');
    await send(t, 'alice', 'y');
    await expect.poll(titles, POLL).toEqual(['y', 'x']);
    release();
    await expect.poll(() => pageLoads.consumed, POLL).toBe(1);
    // The client applies the page in microtasks after reading it: one macrotask later it has.
    await new Promise((r) => setImmediate(r));
    // The empty page arrived after x and y: they stay.
    expect(titles()).toEqual(['y', 'x']);
    expect(client.getState().unreadCount).toBe(2);
    expect(pageLoads.n).toBe(1);
  });

  it('resumes with `after` across a cut connection: what was sent meanwhile appears once, in order', async () => {
    const t = app();
    await send(t, 'alice', 'before');
    const { client, proxy, pageLoads, titles } = await open(t, 'alice');
    await expect.poll(titles, POLL).toEqual(['before']);
    await live(client);
    const states: InboxState[] = [];
    client.subscribe((s) => states.push(s));

    proxy.cut();
    await expect.poll(() => client.getState().connection, POLL).not.toBe('live');
    for (let i = 1; i <= 5; i++) await send(t, 'alice', `cut ${i}`);
    proxy.restore();

    await expect.poll(titles, POLL).toEqual(['cut 5', 'cut 4', 'cut 3', 'cut 2', 'cut 1', 'before']);
    await expect.poll(() => client.getState().unreadCount, POLL).toBe(6);
    // Replayed through the stream, not reloaded; no state ever held an id twice.
    expect(pageLoads.n).toBe(1);
    for (const s of states) expect(new Set(s.items.map((n) => n.id)).size).toBe(s.items.length);
  });

  it('reloads page 1 when the replay is not complete (the cap pushed notifications out while cut)', async () => {
    const t = app();
    await send(t, 'alice', 'old');
    const { client, proxy, pageLoads, titles } = await open(t, 'alice', { pageSize: 5 });
    await expect.poll(titles, POLL).toEqual(['old']);
    await live(client);
    proxy.cut();
    await expect.poll(() => client.getState().connection, POLL).not.toBe('live');
    // cap 20: 'old' is pushed out, so the stream cannot prove the replay complete.
    for (let i = 1; i <= 22; i++) await send(t, 'alice', `n${i}`);
    proxy.restore();
    await expect.poll(() => pageLoads.n, POLL).toBe(2);
    await expect.poll(titles, POLL).toEqual(['n22', 'n21', 'n20', 'n19', 'n18']);
    await expect.poll(() => client.getState().unreadCount, POLL).toBe(20);
  });

  it('marks read on one client and another client of the same user follows, list and count', async () => {
    const t = app();
    for (const title of ['a', 'b', 'c']) await send(t, 'alice', title);
    const one = await open(t, 'alice');
    const two = await open(t, 'alice');
    await expect.poll(one.titles, POLL).toEqual(['c', 'b', 'a']);
    await expect.poll(two.titles, POLL).toEqual(['c', 'b', 'a']);
    await live(two.client);

    const b = one.client.getState().items.find((n) => n.title === 'b')!;
    await one.client.markRead([b.id]);
    await expect.poll(() => two.client.getState().unreadCount, POLL).toBe(2);
    await expect.poll(() => two.client.getState().items.find((n) => n.id === b.id)?.read, POLL).toBe(true);
    expect(one.client.getState().items.find((n) => n.id === b.id)?.read).toBe(true);

    await two.client.markAllRead();
    await expect.poll(() => one.client.getState().unreadCount, POLL).toBe(0);
    await expect.poll(() => one.client.getState().items.every((n) => n.read), POLL).toBe(true);
  });

  it('reconnects with the token it is given: a bad one is refused and shown, a good one resumes', async () => {
    const t = app();
    const { client, proxy, titles } = await open(t, 'alice');
    await live(client);
    const before = proxy.accepted;
    client.setToken('not-a-token');
    await expect.poll(() => client.getState().error, POLL).toMatch(/4403|Forbidden|token/i);
    expect(client.getState().connection).not.toBe('live');
    expect(proxy.accepted).toBeGreaterThan(before);

    await send(t, 'alice', 'while refused');
    client.setToken(await t.token('alice'));
    await live(client);
    await expect.poll(titles, POLL).toEqual(['while refused']);
    expect(client.getState().unreadCount).toBe(1);
    expect(client.getState().error).toBeNull();
  });
});

describe('inbox client against PERSISTED_OPERATIONS=only', () => {
  const app = useTestApp('memory', { clock: 'real', persisted: createPersistedOperations('only') });
  let client: InboxClient | null = null;
  afterEach(() => client?.close());

  it('switches to operation ids on the first PERSISTED_QUERY_ONLY and works from then on', async () => {
    const t = app();
    const { ws } = await t.listen();
    await t.app.service.send({ userIds: ['alice'], type: 'task_assigned', title: 'a', body: '' });
    client = createInboxClient({ url: ws, token: await t.token('alice'), webSocketImpl: WebSocket });
    const c = client;
    await expect.poll(() => c.getState().items.map((n) => n.title), POLL).toEqual(['a']);
    expect(c.getState().unreadCount).toBe(1);
    await c.markAllRead();
    await expect.poll(() => c.getState().unreadCount, POLL).toBe(0);
    expect(c.getState().error).toBeNull();
  });
});
