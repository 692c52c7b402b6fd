/**
 * The inbox query whose Redis round trips are counted (bench/broadcast.ts and
 * test/roundtrips.test.ts): one user with own notifications and live broadcasts, asked for
 * `notifications(first: N) { ... recipient { displayName } }` through the real app, in-process.
 */
import type { App } from '../src/app.js';
import type { Auth } from '../src/server/auth.js';

export const INBOX_QUERY = /* GraphQL */ `
  query Inbox($first: Int) {
    notifications(first: $first) {
      totalCount
      unreadCount
      edges { node { id title recipient { displayName } } }
    }
  }
`;

export const INBOX_DISPLAY_NAME = 'Round Trip User';

export interface InboxData {
  notifications: {
    totalCount: number;
    unreadCount: number;
    edges: { node: { id: string; title: string; recipient: { displayName: string | null } } }[];
  };
}

export interface InboxResponse {
  status: number;
  data?: InboxData | null;
  errors?: { message: string }[];
}

/**
 * Creates `userId` (active, with a display name), then `own` own notifications through
 * service.send and `broadcasts` saveOffline broadcasts, interleaved (after each block of own
 * items, a few broadcasts; the last broadcasts are still unsettled when this returns, so the
 * first query materialises them). Returns a user-role token for the user.
 */
export async function seedInbox(app: App, auth: Auth, userId: string, { own = 50, broadcasts = 20 } = {}): Promise<string> {
  const service = app.service;
  await service.upsertUser(userId, INBOX_DISPLAY_NAME, true);
  const blocks = Math.max(1, Math.min(own, broadcasts, 10));
  let sent = 0;
  let cast = 0;
  for (let b = 1; b <= blocks; b++) {
    for (; sent < Math.round((own * b) / blocks); sent++) {
      await service.send({ userIds: [userId], type: 'task_assigned', title: `Own #${sent + 1}`, body: `own notification ${sent + 1}` });
    }
    for (; cast < Math.round((broadcasts * b) / blocks); cast++) {
      await service.broadcast({ type: 'system_announcement', title: `Broadcast #${cast + 1}`, body: `broadcast ${cast + 1}`, saveOffline: true });
    }
  }
  return auth.sign({ sub: userId, roles: ['user'] });
}

/** POSTs the inbox query to the app's yoga handler (no HTTP server involved). */
export async function queryInbox(app: App, token: string, first: number): Promise<InboxResponse> {
  const res = await app.yoga.fetch('http://x/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query: INBOX_QUERY, variables: { first } }),
  });
  const body = (await res.json()) as Omit<InboxResponse, 'status'>;
  return { status: res.status, ...body };
}

/** "20 edges (14 own, 6 broadcast), totalCount 50, unread 50" or the errors. */
export function describeInbox(r: InboxResponse): string {
  if (r.errors?.length || !r.data) return `HTTP ${r.status}, errors: ${(r.errors ?? []).map((e) => e.message).join('; ') || 'no data'}`;
  const n = r.data.notifications;
  const own = n.edges.filter((e) => e.node.title.startsWith('Own #')).length;
  const names = new Set(n.edges.map((e) => e.node.recipient.displayName));
  return `${n.edges.length} edges (${own} own, ${n.edges.length - own} broadcast), totalCount ${n.totalCount}, unread ${n.unreadCount}, recipient ${[...names].map((x) => JSON.stringify(x)).join('/')}`;
}
