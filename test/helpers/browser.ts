/**
 * Headless Debian Chromium for page tests (as test/graphiql.browser.test.ts launches it), with
 * every request to a non-loopback host aborted and recorded, and a built copy of the web pages.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { buildWeb, type WEB_PAGES } from '../../web/build.js';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const LOCAL_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** Screenshots kept after the run (gitignored). */
export const ARTIFACTS = path.resolve('test', 'artifacts');

export interface TestBrowser {
  browser: Browser;
  /** a context whose requests may only reach the loopback host */
  context(opts?: { width?: number; height?: number }): Promise<BrowserContext>;
  /** every URL a page tried outside the machine */
  external: string[];
  /** uncaught page errors */
  pageErrors: string[];
  track(page: Page): Page;
  shot(page: Page, name: string): Promise<void>;
  close(): Promise<void>;
}

export async function launchBrowser(): Promise<TestBrowser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found: install Debian's chromium (apt-get install chromium; .ci/run does) or set CHROMIUM_PATH`);
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  const external: string[] = [];
  const pageErrors: string[] = [];
  const isLocal = (url: string) => {
    const u = new URL(url);
    return !['http:', 'https:', 'ws:', 'wss:'].includes(u.protocol) || LOCAL_HOSTS.has(u.hostname);
  };
  mkdirSync(ARTIFACTS, { recursive: true });
  return {
    browser,
    external,
    pageErrors,
    async context(opts = {}) {
      const context = await browser.newContext({ viewport: { width: opts.width ?? 1280, height: opts.height ?? 900 } });
      await context.route('**/*', (route) => {
        const url = route.request().url();
        if (isLocal(url)) return route.continue();
        external.push(url);
        return route.abort('internetdisconnected');
      });
      return context;
    },
    track(page) {
      page.on('pageerror', (err) => pageErrors.push(err.message));
      return page;
    },
    async shot(page, name) {
      await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });
    },
    close: () => browser.close(),
  };
}

/** Builds `pages` into a temporary folder; returns it and its remover. */
export async function builtPages(pages: (typeof WEB_PAGES)[number][]): Promise<{ root: string; remove(): void }> {
  const root = mkdtempSync(path.join(tmpdir(), 'web-pages-'));
  await buildWeb(root, pages);
  return { root, remove: () => rmSync(root, { recursive: true, force: true }) };
}
