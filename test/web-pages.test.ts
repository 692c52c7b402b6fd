/**
 * The built pages over HTTP (src/server/web-pages.ts), from a folder the test lays out: redirects,
 * content types, caching, the CSP, and nothing outside the page's folder.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultWebRoot } from '../src/server/web-pages.js';
import { useTestApp } from './helpers/app.js';

const root = mkdtempSync(path.join(tmpdir(), 'web-root-'));
mkdirSync(path.join(root, 'console', 'assets'), { recursive: true });
writeFileSync(path.join(root, 'console', 'index.html'), '<!doctype html><title>console</title>');
writeFileSync(path.join(root, 'console', 'assets', 'index-abc.js'), 'console.log(1)');
writeFileSync(path.join(root, 'secret.txt'), 'not for the web');

describe('web pages at /console and /inbox', () => {
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  const app = useTestApp('memory', { webRoot: root });
  const origin = async () => new URL((await app().listen()).http).origin;
  const get = async (p: string, method = 'GET') => fetch(`${await origin()}${p}`, { method, redirect: 'manual' });

  it('redirects /console to /console/ and serves index.html uncached, with a same-origin CSP', async () => {
    const r = await get('/console');
    expect(r.status).toBe(308);
    expect(r.headers.get('location')).toBe('/console/');
    const page = await get('/console/');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('cache-control')).toBe('no-cache');
    expect(page.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(await page.text()).toContain('<title>console</title>');
  });

  it('serves hashed assets for good, HEAD without a body', async () => {
    const r = await get('/console/assets/index-abc.js');
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(r.headers.get('cache-control')).toContain('immutable');
    expect(await r.text()).toBe('console.log(1)');
    const head = await get('/console/assets/index-abc.js', 'HEAD');
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String('console.log(1)'.length));
    expect(await head.text()).toBe('');
  });

  it('serves nothing outside the page folder and 404s unknown files', async () => {
    for (const p of ['/console/%2e%2e/secret.txt', '/console/..%2fsecret.txt', '/console/assets/%2e%2e/%2e%2e/secret.txt', '/console/%E0%A4%A']) {
      const r = await get(p);
      expect(r.status, p).toBe(404);
      expect(await r.text()).not.toContain('not for the web');
    }
    expect((await get('/console/assets/nope.js')).status).toBe(404);
  });

  it('says how to build a page that is not built', async () => {
    const r = await get('/inbox/');
    expect(r.status).toBe(404);
    expect(await r.text()).toContain('npm run build');
  });

  it('leaves other paths and methods to GraphQL', async () => {
    const r = await fetch(`${await origin()}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ __typename }' }) });
    expect(await r.json()).toEqual({ data: { __typename: 'Query' } });
    // /consoles is not /console/…: yoga's 404, not a page
    const other = await get('/consoles');
    expect(other.status).toBe(404);
    expect(other.headers.get('content-security-policy')).toBeNull();
    // POST under /console is not a page request either
    expect((await get('/console/', 'POST')).headers.get('content-security-policy')).toBeNull();
  });

  it('finds web/dist of this package by default', () => {
    expect(defaultWebRoot()).toBe(path.resolve('web', 'dist'));
  });
});
