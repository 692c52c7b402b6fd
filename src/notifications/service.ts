import { StoreFullError, type ClaimedSend, type InboxSnapshot, type SendOutcome, type Store } from '../store/store.js';
import { DomainError, badInput } from './errors.js';
import { EXTERNAL_ID, decodeSeq } from './ids.js';
import { defaultPolicy, mergePolicies } from './policies.js';
import { renderTemplate } from './templates.js';
import type {
  BroadcastRecord,
  Channel,
  ChannelPreference,
  Notification,
  NotificationContent,
  NotificationFilter,
  NotificationTypePolicy,
  Priority,
  Template,
  UserRecord,
} from './types.js';
import type { ExternalChannel } from '../store/deliveries.js';
import * as v from './validate.js';
import type { Metrics } from '../metrics/metrics.js';

/** What sendNotification and broadcast have in common. */
export interface ContentInput {
  type: string;
  title?: string | null;
  body?: string | null;
  template?: string | null;
  variables?: unknown;
  data?: unknown;
  priority?: Priority | null;
  ttlSeconds?: number | null;
  dedupKey?: string | null;
}

export interface SendInput extends ContentInput {
  userIds: readonly string[];
  sendAt?: Date | null;
  channels?: readonly Channel[] | null;
  /** deliveries beyond the app go only if the notification is still unread this long after */
  escalateAfterSeconds?: number | null;
}

export interface BroadcastInput extends ContentInput {
  saveOffline: boolean;
}

export interface SendResult {
  notifications: Notification[];
  deduplicated: string[];
  muted: string[];
  scheduledId: string | null;
}

export interface ListArgs {
  first: number;
  after?: string | null;
  filter?: NotificationFilter | null;
}

/**
 * The inbox rules: validation, TTL policies, templates, then one store call.
 * Knows nothing of GraphQL or Redis; `clock` is a parameter so tests control time.
 */
export class NotificationService {
  /** Users known to exist on this instance: saves a round trip per request (users are never deleted). */
  private readonly known = new Set<string>();
  /**
   * Policy overrides, re-read at most once per POLICY_CACHE_MS: every send needs them and they
   * rarely change. Another instance's change shows here within that time; our own at once.
   */
  private policyCache: { at: number; byType: Map<string, NotificationTypePolicy> } | null = null;

  constructor(
    readonly store: Store,
    private readonly clock: () => number = Date.now,
    /** sends, broadcasts and their outcomes are counted here when given */
    private readonly metrics: Pick<Metrics, 'sends' | 'broadcasts' | 'recipients'> | null = null,
  ) {}

  now(): number {
    return this.clock();
  }

  /** First contact of a user-role caller makes the user exist (active). */
  async ensureUser(userId: string): Promise<void> {
    if (this.known.has(userId)) return;
    v.externalId('userId', userId);
    await this.store.ensureUser(userId, this.clock()).catch(refuseWhenFull);
    if (this.known.size > 100_000) this.known.clear();
    this.known.add(userId);
  }

  async getUsers(ids: readonly string[]): Promise<(UserRecord | null)[]> {
    if (ids.every((id) => EXTERNAL_ID.test(id))) return this.store.getUsers(ids);
    // An id outside the user id charset names no user (and can't be part of a key): null, not an error.
    const valid = ids.filter((id) => EXTERNAL_ID.test(id));
    const records = await this.store.getUsers(valid);
    const byId = new Map(valid.map((id, i) => [id, records[i] ?? null]));
    return ids.map((id) => byId.get(id) ?? null);
  }

  unreadCounts(ids: readonly string[]): Promise<number[]> {
    return this.store.unreadCounts(ids, this.clock());
  }

  upsertUser(id: string, displayName: string | null | undefined, active: boolean | null | undefined): Promise<UserRecord> {
    v.externalId('id', id);
    if (displayName) v.text('displayName', displayName, v.LIMITS.displayName);
    return this.store.upsertUser(id, { displayName, active: active ?? undefined }, this.clock()).catch(refuseWhenFull);
  }

  async updatePreferences(userId: string, input: { mutedTypes?: readonly string[] | null; channels?: readonly ChannelPreference[] | null }): Promise<UserRecord> {
    const mutedTypes = input.mutedTypes ?? undefined;
    if (mutedTypes) {
      if (mutedTypes.length > v.LIMITS.mutedTypes) throw badInput('mutedTypes', `at most ${v.LIMITS.mutedTypes} types`);
      for (const t of mutedTypes) v.typeName('mutedTypes', t);
    }
    const channels = input.channels ?? undefined;
    if (channels) {
      if (channels.length > v.LIMITS.channelPreferences) throw badInput('channels', `at most ${v.LIMITS.channelPreferences} entries`);
      for (const c of channels) if (c.type !== '*') v.typeName('channels.type', c.type);
    }
    return this.store.updatePreferences(
      userId,
      { mutedTypes: mutedTypes ? [...mutedTypes] : undefined, channels: channels?.map((c) => ({ type: c.type, channels: [...new Set(c.channels)] })) },
      this.clock(),
    ).catch(refuseWhenFull);
  }

  list(userId: string, args: ListArgs) {
    const first = v.pageSize('first', args.first);
    if (args.after) v.notificationId('after', args.after);
    const f = args.filter;
    if (f?.types) for (const t of f.types) v.typeName('filter.types', t);
    return this.store.list(userId, { first, after: args.after, filter: f }, this.clock());
  }

  async get(userId: string, id: string): Promise<Notification | null> {
    // An id that isn't ours can't be in anyone's inbox: not found, not an error.
    if (decodeSeq(id) === null) return null;
    const [n] = await this.store.get(userId, [id], this.clock());
    return n ?? null;
  }

  /** What the inbox holds newer than `after`, oldest first (subscription replay). */
  since(userId: string, after: string): Promise<Notification[]> {
    return this.store.since(userId, v.notificationId('after', after), this.clock());
  }

  /**
   * Where an inbox stream starts (Store.inboxSnapshot). `after` is not validated: a malformed
   * or unknown one answers `complete: false`, as the inbox subscription promises.
   */
  inboxSnapshot(userId: string, after: string | null, token: string): Promise<InboxSnapshot> {
    return this.store.inboxSnapshot(userId, after, token, this.clock());
  }

  markRead(userId: string, ids: readonly string[]) {
    return this.store.markRead(userId, v.notificationIds('ids', ids), this.clock());
  }

  markUnread(userId: string, ids: readonly string[]) {
    return this.store.markUnread(userId, v.notificationIds('ids', ids), this.clock());
  }

  markAllRead(userId: string) {
    return this.store.markAllRead(userId, this.clock());
  }

  delete(userId: string, ids: readonly string[]) {
    return this.store.delete(userId, v.notificationIds('ids', ids), this.clock());
  }

  async send(input: SendInput): Promise<SendResult> {
    const userIds = v.userIds('userIds', input.userIds);
    const channels = [...new Set((input.channels ?? []).filter((c): c is ExternalChannel => c !== 'IN_APP'))];
    const now = this.clock();
    const sendAt = input.sendAt ? input.sendAt.getTime() : null;
    if (sendAt !== null && !(sendAt <= now + MAX_SCHEDULE_AHEAD_MS)) {
      throw badInput('sendAt', `must be within ${MAX_SCHEDULE_AHEAD_MS / DAY_MS} days from now`);
    }
    // Templates, policies and limits are applied now, so bad input fails here, not at delivery.
    const { content, dedupKey, dedupWindowMs } = await this.resolveContent(input, now);
    let escalateAfterMs: number | undefined;
    if (input.escalateAfterSeconds != null) {
      const ttlSeconds = (content.expiresAt - content.createdAt) / 1000;
      const s = input.escalateAfterSeconds;
      if (!Number.isInteger(s) || s < 1 || s >= ttlSeconds) {
        throw badInput('escalateAfterSeconds', `must be a whole number of seconds from 1 to less than the notification's TTL (${ttlSeconds} s)`);
      }
      escalateAfterMs = s * 1000;
    }
    const routed = channels.length > 0 ? { channels, escalateAfterMs } : {};
    if (sendAt !== null && sendAt > now + SCHEDULE_THRESHOLD_MS) {
      const { createdAt, expiresAt, ...rest } = content;
      // The TTL counts from delivery: stored as a duration, applied by deliverScheduled.
      const scheduledId = await this.store.schedule({ userIds, content: rest, ttlMs: expiresAt - createdAt, dedupKey, dedupWindowMs, sendAt, ...routed }, now);
      this.metrics?.sends.inc({ kind: 'scheduled' });
      return { notifications: [], deduplicated: [], muted: [], scheduledId };
    }
    const outcomes = await this.store.send(userIds, { content, dedupKey, dedupWindowMs, ...routed }, now).catch(refuseWhenFull);
    for (const id of userIds) this.known.add(id);
    const result = summarize(outcomes);
    if (this.metrics) {
      const { sends, recipients } = this.metrics;
      sends.inc({ kind: 'immediate' });
      if (result.notifications.length) recipients.inc({ kind: 'send', outcome: 'stored' }, result.notifications.length);
      if (result.deduplicated.length) recipients.inc({ kind: 'send', outcome: 'deduplicated' }, result.deduplicated.length);
      if (result.muted.length) recipients.inc({ kind: 'send', outcome: 'muted' }, result.muted.length);
    }
    return result;
  }

  /**
   * Delivers the scheduled sends that are due (sendAt <= now), each exactly once per user even
   * when a deliverer dies half-way ({@link deliverScheduled} marks each user). Returns how many
   * sends were delivered and how many notifications that stored.
   */
  async deliverDue({ batch = 100, leaseMs = 60_000 }: { batch?: number; leaseMs?: number } = {}): Promise<{ sends: number; stored: number }> {
    let sends = 0;
    let stored = 0;
    for (;;) {
      const now = this.clock();
      const claimed = await this.store.claimScheduled(now, batch, leaseMs);
      for (const s of claimed) {
        const outcomes = await this.deliverScheduled(s, now);
        await this.store.completeScheduled(s.id);
        for (const o of outcomes) if (o.status === 'stored') stored++;
        sends++;
      }
      if (claimed.length < batch) return { sends, stored };
    }
  }

  /**
   * Delivers a claimed send as `send` would at `now` (createdAt = now, expiresAt = now + ttlMs),
   * leaving a per-user mark (a member of the user's dedup set) for {@link DELIVERY_MARK_MS}:
   * delivering the same send again changes nothing for anyone (every user 'deduplicated').
   * `now` is the time the send was claimed at ({@link deliverDue}).
   */
  deliverScheduled(send: ClaimedSend, now: number): Promise<SendOutcome[]> {
    const { id, userIds, content, ttlMs, dedupKey, dedupWindowMs, channels, escalateAfterMs } = send;
    const item = {
      content: { ...content, createdAt: now, expiresAt: now + ttlMs },
      dedupKey,
      dedupWindowMs,
      deliveryMark: { key: `#s:${id}`, until: now + DELIVERY_MARK_MS },
      channels,
      escalateAfterMs,
    };
    return this.store.send(userIds, item, now).catch(refuseWhenFull);
  }

  async broadcast(input: BroadcastInput): Promise<BroadcastRecord> {
    const now = this.clock();
    const { content, dedupKey, dedupWindowMs } = await this.resolveContent(input, now);
    const record = await this.store.broadcast({ content, dedupKey, dedupWindowMs, saveOffline: input.saveOffline }, now);
    if (this.metrics) {
      const { broadcasts, recipients } = this.metrics;
      broadcasts.inc();
      recipients.inc({ kind: 'broadcast', outcome: 'stored' }, record.recipients);
      recipients.inc({ kind: 'broadcast', outcome: 'deduplicated' }, record.deduplicated);
      recipients.inc({ kind: 'broadcast', outcome: 'muted' }, record.muted);
    }
    return record;
  }

  async policies(): Promise<NotificationTypePolicy[]> {
    return mergePolicies(await this.store.getPolicies());
  }

  async setPolicy(input: {
    type: string;
    ttlSeconds: number;
    defaultPriority?: Priority | null;
    dedupWindowSeconds?: number | null;
    description?: string | null;
  }): Promise<NotificationTypePolicy> {
    const type = v.typeName('type', input.type);
    const current = (await this.policies()).find((p) => p.type === type) ?? defaultPolicy(type);
    const policy: NotificationTypePolicy = {
      type,
      ttlSeconds: v.seconds('ttlSeconds', input.ttlSeconds),
      defaultPriority: input.defaultPriority ?? current.defaultPriority,
      dedupWindowSeconds: input.dedupWindowSeconds == null ? current.dedupWindowSeconds : v.seconds('dedupWindowSeconds', input.dedupWindowSeconds),
      description: input.description == null ? current.description : v.text('description', input.description, v.LIMITS.description),
    };
    await this.store.setPolicy(policy);
    this.policyCache = null;
    return policy;
  }

  async templates(): Promise<Template[]> {
    return (await this.store.getTemplates()).sort((a, b) => a.name.localeCompare(b.name));
  }

  async upsertTemplate(t: Template): Promise<Template> {
    const template: Template = {
      name: v.externalId('name', t.name),
      type: v.typeName('type', t.type),
      title: v.nonEmptyText('title', t.title, v.LIMITS.title),
      body: v.text('body', t.body, v.LIMITS.body),
    };
    await this.store.upsertTemplate(template);
    return template;
  }

  private async policyOverrides(): Promise<Map<string, NotificationTypePolicy>> {
    const now = this.clock();
    if (!this.policyCache || now - this.policyCache.at > POLICY_CACHE_MS) {
      const byType = new Map((await this.store.getPolicies()).map((p) => [p.type, p]));
      this.policyCache = { at: now, byType };
    }
    return this.policyCache.byType;
  }

  private async resolveContent(input: ContentInput, now: number) {
    const type = v.typeName('type', input.type);
    const policy = (await this.policyOverrides()).get(type) ?? defaultPolicy(type);
    let title: string;
    let body: string;
    if (input.template) {
      const name = v.externalId('template', input.template);
      const t = (await this.store.getTemplates()).find((x) => x.name === name);
      if (!t) throw new DomainError('NOT_FOUND', `template: no template named "${name}"`, 'template');
      const vars = v.objectOf('variables', input.variables);
      title = v.text('title', renderTemplate(input.title ?? t.title, vars, 'variables'), v.LIMITS.title);
      body = v.text('body', renderTemplate(input.body ?? t.body, vars, 'variables'), v.LIMITS.body);
    } else {
      title = v.nonEmptyText('title', input.title, v.LIMITS.title);
      if (input.body === undefined || input.body === null) throw badInput('body', 'is required unless template is given');
      body = v.text('body', input.body, v.LIMITS.body);
    }
    const ttlSeconds = input.ttlSeconds == null ? policy.ttlSeconds : v.seconds('ttlSeconds', input.ttlSeconds);
    const content: NotificationContent = {
      type,
      title,
      body,
      data: v.json('data', input.data),
      priority: input.priority ?? policy.defaultPriority,
      createdAt: now,
      expiresAt: now + ttlSeconds * 1000,
    };
    return { content, dedupKey: v.dedupKey('dedupKey', input.dedupKey), dedupWindowMs: policy.dedupWindowSeconds * 1000 };
  }
}

const POLICY_CACHE_MS = 1000;
const DAY_MS = 24 * 3600 * 1000;
/** A sendAt later than now + this is scheduled; anything sooner is delivered at once. */
export const SCHEDULE_THRESHOLD_MS = 1000;
/** How far ahead a send may be scheduled. */
export const MAX_SCHEDULE_AHEAD_MS = 365 * DAY_MS;
/** How long a delivered scheduled send's per-user mark lives (bounds a safe redelivery). */
export const DELIVERY_MARK_MS = DAY_MS;

/** A store at its bounds (the embedded backend's) refused to grow: too much for this server, the caller's to fix. */
function refuseWhenFull(err: unknown): never {
  throw err instanceof StoreFullError ? new DomainError('RESOURCE_EXHAUSTED', err.message) : err;
}

function summarize(outcomes: SendOutcome[]): SendResult {
  const r: SendResult = { notifications: [], deduplicated: [], muted: [], scheduledId: null };
  for (const o of outcomes) {
    if (o.status === 'stored') r.notifications.push(o.notification);
    else if (o.status === 'deduplicated') r.deduplicated.push(o.userId);
    else r.muted.push(o.userId);
  }
  return r;
}
