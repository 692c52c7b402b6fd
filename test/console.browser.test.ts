/**
 * The operator console (/console) in headless Chromium with no way off the machine: sign-in
 * (a wrong token is a message), live dashboard numbers that move after a send, the /metrics panel
 * saying it has none, running a job, retrying a dead letter made by a webhook receiver answering
 * 404, sending and broadcasting with the active-user confirmation, one user's view, and a phone-
 * sized window. A screenshot of each page goes to test/artifacts/.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeliveryLogQuery, SetChannelAddressMutation, UpdatePreferencesMutation } from '../src/client/operations.js';
import { createMetrics } from '../src/metrics/metrics.js';
import { createPersistedOperations } from '../src/server/persisted-operations.js';
import { ADMIN, asUser, useTestApp } from './helpers/app.js';
import { builtPages, launchBrowser, type TestBrowser } from './helpers/browser.js';
import { startWebhookReceiver, type FakeWebhookReceiver } from './helpers/fake-providers.js';

const POLL = { timeout: 15_000, interval: 50 };

describe('operator console in headless Chromium, offline', () => {
  let browser: TestBrowser;
  let pages: Awaited<ReturnType<typeof builtPages>>;
  let receiver: FakeWebhookReceiver;
  beforeAll(async () => {
    [browser, pages, receiver] = await Promise.all([launchBrowser(), builtPages(['console']), startWebhookReceiver()]);
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await receiver?.close();
    pages?.remove();
  });

  const app = useTestApp('memory', {
    clock: 'real',
    outbox: {},
    scheduler: {},
    dashboard: { ttlMs: { system: 100, notifications: 100, cache: 100 }, refreshMs: 150 },
    get webRoot() {
      return pages.root;
    },
  });

  const tile = (page: Page, id: string) => page.getByTestId(id).innerText();
  const tab = (page: Page, name: string) => page.locator('nav.tabs button', { hasText: name }).click();

  it('signs in, shows live numbers, runs a job, retries a dead letter, sends, shows a user', async () => {
    const t = app();
    const { http } = await t.listen();
    const origin = new URL(http).origin;
    const context = await browser.context();
    const page = browser.track(await context.newPage());

    // /console redirects to the page; a user token is refused with the server's message.
    await page.goto(`${origin}/console`);
    expect(new URL(page.url()).pathname).toBe('/console/');
    await page.getByTestId('token').fill(await t.token('alice'));
    await page.getByTestId('sign-in').click();
    await expect.poll(() => page.getByRole('alert').innerText(), POLL).toContain('FORBIDDEN');
    await browser.shot(page, 'console-sign-in');

    await page.getByTestId('token').fill(await t.token(ADMIN.sub, ADMIN.roles));
    await page.getByTestId('sign-in').click();
    await expect.poll(() => tile(page, 'sent-today'), POLL).toBe('0');
    await expect.poll(() => page.getByTestId('dashboard-status').innerText(), POLL).toBe('live');
    // The console's own dashboard stream is an open connection (from the first push after it
    // opened: the first snapshot may predate it).
    await expect.poll(async () => Number(await tile(page, 'connections')), POLL).toBeGreaterThanOrEqual(1);
    expect(await tile(page, 'redis-memory')).toBe('in-memory backend');
    await expect.poll(() => tile(page, 'loop-lag'), POLL).toMatch(/^\d+\.\d ms$/);
    // /metrics with the admin token: the console's own dashboard stream is a live subscription.
    await expect.poll(() => page.locator('[data-metric="live subscriptions"] .value').innerText(), POLL).toMatch(/^[1-9]\d*$/);

    for (const u of ['alice', 'bob']) await t.app.service.send({ userIds: [u], type: 'task_assigned', title: 'Review', body: 'PR 7' });
    await expect.poll(() => tile(page, 'sent-today'), POLL).toBe('2');
    await expect.poll(() => page.getByTestId('chart-rates').innerText(), POLL).toContain('task_assigned');
    await browser.shot(page, 'console-dashboard');

    // Jobs: run one now.
    await tab(page, 'Jobs');
    const job = page.locator('tr[data-job="prune-expired"]');
    await expect.poll(() => job.getByTestId('job-status').innerText(), POLL).toBe('never run');
    await job.getByRole('button', { name: 'Run now' }).click();
    await expect.poll(() => job.getByTestId('job-status').innerText(), POLL).not.toBe('never run');
    await expect.poll(() => page.getByRole('status').innerText(), POLL).toContain('prune-expired');
    await browser.shot(page, 'console-jobs');

    // A dead letter: the receiver answers 404 (permanent) to the first webhook.
    receiver.failNext(1, { status: 404 });
    const set = await t.run(SetChannelAddressMutation, { userId: 'dana', input: { channel: 'WEBHOOK', address: receiver.at('/hooks/dana') } }, asUser('dana'));
    receiver.addSecret(set.data!.setChannelAddress.webhookSecret!);
    await t.run(UpdatePreferencesMutation, { input: { channels: [{ type: '*', channels: ['WEBHOOK'] }] } }, asUser('dana'));
    await t.app.service.send({ userIds: ['dana'], type: 'task_assigned', title: 'Deploy', body: 'failed', channels: ['WEBHOOK'] });
    const failed = async () => (await t.run(DeliveryLogQuery, { filter: { status: ['FAILED'] } }, ADMIN)).data?.deliveryLog.totalCount;
    await expect.poll(failed, POLL).toBe(1);
    await tab(page, 'Dashboard');
    await expect.poll(() => tile(page, 'dead-letters'), POLL).toBe('1');

    await tab(page, 'Deliveries');
    const row = page.locator('table[data-testid="deliveries"] tbody tr');
    await expect.poll(() => row.count(), POLL).toBe(1);
    expect(await row.locator('.last-error').innerText()).toContain('404');
    await browser.shot(page, 'console-deliveries');
    await row.getByRole('button', { name: 'Retry' }).click();
    await expect.poll(() => page.getByRole('status').innerText(), POLL).toContain('queued again');
    await expect.poll(() => receiver.accepted.length, POLL).toBe(1);
    await expect.poll(failed, POLL).toBe(0);

    // Send: a test notification, then a broadcast confirmed with the active-user count.
    await tab(page, 'Send');
    const send = page.getByTestId('send-form');
    await send.locator('input[name="userId"]').fill('carol');
    await send.getByRole('button', { name: 'Send' }).click();
    await expect.poll(() => send.getByRole('status').innerText(), POLL).toMatch(/^Sent /);
    const active = await t.store.countActiveUsers();
    const broadcast = page.getByTestId('broadcast-form');
    await broadcast.locator('input[name="title"]').fill('Maintenance at 18:00');
    await broadcast.getByRole('button', { name: 'Broadcast…' }).click();
    await expect.poll(() => page.getByTestId('broadcast-confirm').innerText(), POLL).toContain(`${active} now`);
    await browser.shot(page, 'console-send');
    await page.getByRole('button', { name: 'Confirm broadcast' }).click();
    await expect.poll(() => page.getByRole('status').filter({ hasText: 'Broadcast' }).innerText(), POLL).toContain(`to ${active} recipients`);

    // One user: unread count, channel address, recent deliveries.
    await tab(page, 'User');
    await page.locator('input[name="id"]').fill('dana');
    await page.getByRole('button', { name: 'Look up' }).click();
    await expect.poll(() => page.getByTestId('user-unread').innerText(), POLL).toBe('2');
    const user = await page.getByTestId('user').innerText();
    expect(user).toContain('WEBHOOK');
    expect(user).toContain('DELIVERED');
    await browser.shot(page, 'console-user');

    // An unknown user is a message, not an empty page.
    await page.locator('input[name="id"]').fill('nobody');
    await page.getByRole('button', { name: 'Look up' }).click();
    await expect.poll(() => page.getByRole('alert').innerText(), POLL).toContain('no user nobody');

    // A phone-sized window: same tab (sessionStorage), nothing wider than the screen.
    await page.setViewportSize({ width: 390, height: 844 });
    await tab(page, 'Dashboard');
    await expect.poll(() => tile(page, 'sent-today'), POLL).not.toBe('');
    await expect.poll(() => page.evaluate(() => document.documentElement.scrollWidth), POLL).toBeLessThanOrEqual(390);
    await browser.shot(page, 'console-phone');

    expect(browser.external).toEqual([]);
    expect(browser.pageErrors).toEqual([]);
    await context.close();
  }, 120_000);

  describe('on a server that takes persisted operation ids only and has no /metrics', () => {
    const only = useTestApp('memory', {
      clock: 'real',
      persisted: createPersistedOperations('only'),
      scheduler: {},
      metrics: () => createMetrics({ enabled: false }),
      dashboard: { ttlMs: { system: 100, notifications: 100, cache: 100 }, refreshMs: 150 },
      get webRoot() {
        return pages.root;
      },
    });

    it('switches to ids on the first refusal: sign-in, the live dashboard and a job run work; no /metrics is a message', async () => {
      const t = only();
      const { http } = await t.listen();
      const context = await browser.context();
      const page = browser.track(await context.newPage());
      await page.goto(`${new URL(http).origin}/console/`);
      await page.getByTestId('token').fill(await t.token(ADMIN.sub, ADMIN.roles));
      await page.getByTestId('sign-in').click();
      await expect.poll(() => tile(page, 'sent-today'), POLL).toBe('0');
      await t.app.service.send({ userIds: ['alice'], type: 'task_assigned', title: 'Review', body: '' });
      await expect.poll(() => tile(page, 'sent-today'), POLL).toBe('1');
      // This server has no /metrics (404): the panel says so, the rest of the page works.
      await expect.poll(() => page.getByTestId('metrics').innerText(), POLL).toContain('Metrics not available');
      await tab(page, 'Jobs');
      await page.locator('tr[data-job="prune-expired"]').getByRole('button', { name: 'Run now' }).click();
      await expect.poll(() => page.getByRole('status').innerText(), POLL).toBe('prune-expired: ok');
      expect(browser.pageErrors).toEqual([]);
      await context.close();
    }, 60_000);
  });
});
