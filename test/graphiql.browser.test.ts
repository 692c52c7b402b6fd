/**
 * GraphiQL in a real browser: headless Debian Chromium (/usr/bin/chromium, `apt-get install
 * chromium`; .ci/run installs it) driven by playwright-core, with every request to a host other
 * than the loopback one aborted and recorded. Proves the offline page (stack-notes §8) renders
 * with no CDN, runs a query with the pre-filled Authorization header, and runs a subscription
 * over SSE out of the box.
 *
 * The page is ~9 MB of inline JS and takes seconds to start, so the three tests share ONE page
 * and run in order: load (1), query (2), then edit the headers and query editors in place (3).
 * GraphiQL 5 uses Monaco: the first query comes from the `?query=` URL parameter; the editors
 * are edited with select-all, Delete, then insertText (typing would trigger Monaco's
 * auto-closing of quotes and brackets). Monaco renders lines asynchronously and only those in
 * view, hence polling and a tall viewport.
 */
import { existsSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { chromium, type Browser, type BrowserContext, type Locator, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type App } from '../src/app.js';
import { memoryBackend } from '../src/backend.js';
import { createAuth } from '../src/server/auth.js';
import { createPersistedOperations } from '../src/server/persisted-operations.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
// As the machine notes' probe ran it: without the background-networking flags Chromium tries
// Google's hosts at start-up, which this machine's closed network refuses.
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const SECRET = 'graphiql-browser-test-secret-0123456789abcdef';
const LOCAL_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);
const QUERY = '{ notificationTypes { type ttlSeconds } }';
const SUBSCRIPTION = 'subscription { unreadCountChanged }';

/** Chromium's text of a Monaco editor: its rendered lines, with the non-breaking spaces undone. */
async function editorText(editor: Locator): Promise<string> {
  return (await editor.locator('.view-lines').first().innerText()).replace(/\u00a0/g, ' ');
}

/** Replaces a Monaco editor's whole content and waits until it shows exactly `text`. */
async function setEditor(page: Page, editor: Locator, text: string): Promise<void> {
  await editor.click();
  await page.keyboard.press('ControlOrMeta+A');
  await page.keyboard.press('Delete');
  await expect.poll(() => editorText(editor)).toBe('');
  await page.keyboard.insertText(text);
  await expect.poll(() => editorText(editor)).toBe(text);
}

describe('GraphiQL in headless Chromium, offline', () => {
  const auth = createAuth(SECRET);
  let app: App;
  let base: string;
  let adminToken: string;
  let browser: Browser | undefined;
  let context: BrowserContext;
  let page: Page;
  /** every request (or WebSocket) the page tried to a non-local host; all were aborted */
  const external: string[] = [];
  const pageErrors: string[] = [];

  // GraphiQL's own parts of the page (yoga's wrapper div has the same class).
  const ui = () => page.locator('.graphiql-container .graphiql-container');
  const queryEditor = () => ui().locator('section.graphiql-query-editor .graphiql-editor');
  const headersEditor = () => ui().locator('section.graphiql-editor-tool[aria-label="Headers"] .graphiql-editor:not(.hidden)');
  const resultPane = () => ui().locator('section.result-window');
  const executeButton = () => ui().locator('.graphiql-execute-button');

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(`${CHROMIUM} not found: install Debian's chromium (apt-get install chromium; .ci/run does) or set CHROMIUM_PATH`);
    }
    adminToken = await auth.sign({ sub: 'root', roles: ['admin'] });
    // PERSISTED_OPERATIONS=allow: the persisted-operations plugin is in the path and GraphiQL's
    // documents still run (the default, off, is the same server without the plugin).
    const persisted = createPersistedOperations('allow');
    app = createApp({ ...memoryBackend({ cap: 50 }), auth, logger: pino({ level: 'silent' }), graphiqlToken: adminToken, persisted });
    await new Promise<void>((resolve) => app.server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}/graphql`;

    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    // Tall enough that Monaco renders the whole notificationTypes result.
    context = await browser.newContext({ viewport: { width: 1280, height: 1100 } });
    const isLocal = (url: string) => {
      const u = new URL(url);
      return !['http:', 'https:', 'ws:', 'wss:'].includes(u.protocol) || LOCAL_HOSTS.has(u.hostname);
    };
    // On the context, so workers and popups are covered too.
    await context.route('**/*', (route) => {
      const url = route.request().url();
      if (isLocal(url)) return route.continue();
      external.push(url);
      return route.abort('internetdisconnected');
    });
    await context.routeWebSocket(/.*/, (ws) => {
      if (isLocal(ws.url())) return void ws.connectToServer();
      external.push(ws.url());
      return ws.close();
    });
    page = await context.newPage();
    page.on('pageerror', (err) => pageErrors.push(err.message));
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await app?.close(100);
  });

  it('renders with no request leaving the machine', async () => {
    await page.goto(`${base}?query=${encodeURIComponent(QUERY)}`, { timeout: 45_000 });
    await ui().waitFor({ timeout: 30_000 });
    await expect.poll(() => editorText(queryEditor()), { timeout: 15_000 }).toBe(QUERY);
    await expect(executeButton().isVisible()).resolves.toBe(true);
    expect(await page.title()).toBe('Notifications GraphiQL');
    expect(external).toEqual([]);
    expect(pageErrors).toEqual([]);
  }, 60_000);

  it('runs a query with the pre-filled Authorization header', async () => {
    // The token is on one long line; Monaco renders the line in full.
    expect(await editorText(headersEditor())).toContain(`"Authorization": "Bearer ${adminToken}"`);
    const sent = page.waitForRequest((r) => r.url().startsWith(base) && r.method() === 'POST');
    await executeButton().click();
    expect((await sent).headers()['authorization']).toBe(`Bearer ${adminToken}`);
    // notificationTypes needs an authenticated caller: a result means the header worked.
    await expect.poll(() => editorText(resultPane()), { timeout: 15_000 }).toContain('"type": "work_end_reminder"');
    const result = await editorText(resultPane());
    expect(result).toContain('"ttlSeconds": 43200');
    expect(result).not.toContain('"errors"');
    expect(external).toEqual([]);
  }, 30_000);

  it('runs a subscription over SSE with a user token typed into the headers editor', async () => {
    // The admin token has no inbox; an inbox subscription needs a user.
    const userToken = await auth.sign({ sub: 'alice', roles: ['user'] });
    await setEditor(page, headersEditor(), JSON.stringify({ Authorization: `Bearer ${userToken}` }));
    await setEditor(page, queryEditor(), SUBSCRIPTION);

    const sent = page.waitForRequest((r) => r.url().startsWith(base) && (r.headers()['accept'] ?? '').includes('text/event-stream'));
    await executeButton().click();
    const request = await sent;
    expect(request.method()).toBe('GET');
    expect(request.headers()['authorization']).toBe(`Bearer ${userToken}`);
    await expect.poll(() => editorText(resultPane()), { timeout: 15_000 }).toContain('"unreadCountChanged": 0');

    // The stream stays open: a new notification for alice arrives in the result pane.
    await app.service.send({ userIds: ['alice'], type: 'task_assigned', title: 'Review', body: 'PR 42' });
    await expect.poll(() => editorText(resultPane()), { timeout: 15_000 }).toContain('"unreadCountChanged": 1');
    expect(external).toEqual([]);
    expect(pageErrors).toEqual([]);
  }, 30_000);
});
