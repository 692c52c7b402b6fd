/**
 * Who may scrape `GET /metrics`: with `METRICS_TOKEN` set, that token or an admin's JWT
 * (`Authorization: Bearer …`); without it, anyone.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Metrics } from '../metrics/metrics.js';
import type { Auth } from './auth.js';
import type { MetricsRoute } from './http-server.js';

export function metricsRoute({ metrics, token, auth }: { metrics: Metrics; token: string | null; auth: Auth }): MetricsRoute {
  // Compared as hashes: equal lengths for timingSafeEqual, and no length leak.
  const digest = (s: string) => createHash('sha256').update(s).digest();
  const expected = token === null ? null : digest(token);
  return {
    async authorize(header) {
      if (expected === null) return 200;
      const m = /^\s*bearer\s+(\S+)\s*$/i.exec(header ?? '');
      if (!m) return 401;
      if (timingSafeEqual(digest(m[1]!), expected)) return 200;
      const principal = await auth.verify(header).catch(() => null);
      if (!principal) return 401;
      return principal.roles.includes('admin') ? 200 : 403;
    },
    render: () => metrics.render(),
  };
}
