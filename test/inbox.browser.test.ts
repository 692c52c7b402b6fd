/**
 * The reference inbox page (/inbox, built on the client kit) in headless Chromium with no way off
 * the machine. The page reaches the server through a TCP proxy the test cuts (offline emulation
 * would leave the open WebSocket alone): five notifications sent while cut appear once each, in
 * order, with the exact badge when it is restored; a second tab marks one read and the first
 * follows. Screenshots go to test/artifacts/.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useTestApp } from './helpers/app.js';
import { builtPages, launchBrowser, type TestBrowser } from './helpers/browser.js';
import { startTcpProxy } from './helpers/tcp-proxy.js';

const POLL = { timeout: 15_000, interval: 50 };

describe('inbox page in headless Chromium, offline', () => {
  let browser: TestBrowser;
  let pages: Awaited<ReturnType<typeof builtPages>>;
  beforeAll(async () => {
    [browser, pages] = await Promise.all([launchBrowser(), builtPages(['inbox'])]);
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    pages?.remove();
  });

  const app = useTestApp('memory', {
    clock: 'real',
    get webRoot() {
      return pages.root;
    },
  });

  const titles = (page: Page) => page.locator('[data-testid="items"] li .title').allInnerTexts();
  const ids = (page: Page) => page.locator('[data-testid="items"] li').evaluateAll((els) => els.map((e) => e.getAttribute('data-id')));
  const badge = async (page: Page) => ((await page.getByTestId('badge').count()) ? page.getByTestId('badge').innerText() : null);
  const connection = (page: Page) => page.getByTestId('connection').innerText();

  it('follows the inbox live, across a cut connection, and across tabs', async () => {
    const t = app();
    const { http } = await t.listen();
    const proxy = await startTcpProxy(Number(new URL(http).port));
    const send = (title: string) => t.app.service.send({ userIds: ['alice'], type: 'task_assigned', title, body: `body of ${title}` });
    try {
      const context = await browser.context({ width: 800, height: 900 });
      const url = `http://127.0.0.1:${proxy.port}/inbox/#token=${await t.token('alice')}`;
      const one = browser.track(await context.newPage());
      let pageLoads = 0;
      one.on('request', (r) => void (r.method() === 'POST' && r.postData()?.includes('query Notifications') && pageLoads++));
      await one.goto(url);
      await expect.poll(() => connection(one), POLL).toBe('live');
      // The token left the address bar.
      expect(new URL(one.url()).hash).toBe('');
      expect(await badge(one)).toBeNull();

      await send('first');
      await send('second');
      await expect.poll(() => titles(one), POLL).toEqual(['second', 'first']);
      await expect.poll(() => badge(one), POLL).toBe('2');
      await browser.shot(one, 'inbox-live');

      proxy.cut();
      await expect.poll(() => connection(one), POLL).not.toBe('live');
      for (let i = 1; i <= 5; i++) await send(`cut ${i}`);
      await browser.shot(one, 'inbox-cut');
      proxy.restore();

      const expected = ['cut 5', 'cut 4', 'cut 3', 'cut 2', 'cut 1', 'second', 'first'];
      await expect.poll(() => titles(one), POLL).toEqual(expected);
      await expect.poll(() => badge(one), POLL).toBe('7');
      expect(new Set(await ids(one)).size).toBe(expected.length);
      expect(await connection(one)).toBe('live');
      // Resumed with `after`: the five came on the stream; page 1 was loaded once, at the start.
      expect(pageLoads).toBe(1);
      await browser.shot(one, 'inbox-restored');

      // A second tab (its own sessionStorage, so the token again) marks one read.
      const two = browser.track(await context.newPage());
      await two.goto(url);
      await expect.poll(() => titles(two), POLL).toEqual(expected);
      await two.locator('[data-testid="items"] li', { hasText: 'cut 3' }).getByRole('button', { name: 'Mark read' }).click();
      await expect.poll(() => badge(two), POLL).toBe('6');
      await expect.poll(() => badge(one), POLL).toBe('6');
      await expect.poll(() => one.locator('[data-testid="items"] li', { hasText: 'cut 3' }).getAttribute('class'), POLL).toBe('read');
      expect(await one.locator('[data-testid="items"] li.unread').count()).toBe(6);
      await browser.shot(one, 'inbox-read-elsewhere');

      // Mark all read in the first tab: both badges go.
      await one.getByRole('button', { name: 'Mark all read' }).click();
      await expect.poll(() => badge(two), POLL).toBeNull();
      await expect.poll(() => two.getByTestId('unread-count').innerText(), POLL).toBe('0');
      expect(await badge(one)).toBeNull();

      // Phone-sized: nothing wider than the screen.
      await two.setViewportSize({ width: 390, height: 844 });
      await expect.poll(() => two.evaluate(() => document.documentElement.scrollWidth), POLL).toBeLessThanOrEqual(390);
      await browser.shot(two, 'inbox-phone');

      expect(browser.external).toEqual([]);
      expect(browser.pageErrors).toEqual([]);
      await context.close();
    } finally {
      await proxy.close();
    }
  }, 120_000);
});
