import { DomainError, badInput } from '../notifications/errors.js';
import { DELIVERY_ID, deliveryId, type ChannelAddress, type Delivery, type DeliveryStatus, type ExternalChannel } from '../store/deliveries.js';
import { decodeSeq } from '../notifications/ids.js';
import * as v from '../notifications/validate.js';
import type { DeliveryLogPage, DeliveryStore } from '../store/delivery-store.js';
import { AddressError, generateWebhookSecret, maskAddress, validateAddress } from './addresses.js';
import { EXTERNAL_CHANNELS } from './provider.js';

/** An address as answers show it: masked, never the secret. */
export interface MaskedAddress {
  channel: ExternalChannel;
  address: string;
  updatedAt: number;
}

/**
 * Channel addresses, the delivery log and dead letters: the rules around the outbox that the
 * API exposes. Authorisation (who may see whose deliveries) is decided by the caller's view.
 */
export class DeliveryService {
  constructor(
    private readonly deliveries: DeliveryStore,
    private readonly opts: { allowPrivate: boolean; clock?: () => number },
  ) {}

  private now() {
    return (this.opts.clock ?? Date.now)();
  }

  /** Sets (replaces) the user's address on a channel; a webhook gets a new signing secret, returned this once. */
  async setAddress(userId: string, channel: ExternalChannel | 'IN_APP', address: string): Promise<{ secret: string | null }> {
    v.externalId('userId', userId);
    if (channel === 'IN_APP') throw badInput('input.channel', 'IN_APP has no address; choose WEBHOOK, TELEGRAM or WECOM');
    let normalised: string;
    try {
      normalised = validateAddress(channel, address, { allowPrivate: this.opts.allowPrivate });
    } catch (err) {
      if (err instanceof AddressError) throw badInput('input.address', err.message);
      throw err;
    }
    const secret = channel === 'WEBHOOK' ? generateWebhookSecret() : null;
    const record: ChannelAddress = { channel, address: normalised, secret, updatedAt: this.now() };
    await this.deliveries.setAddress(userId, record);
    return { secret };
  }

  async removeAddress(userId: string, channel: ExternalChannel | 'IN_APP'): Promise<void> {
    v.externalId('userId', userId);
    if (channel === 'IN_APP') throw badInput('channel', 'IN_APP has no address');
    await this.deliveries.removeAddress(userId, channel);
  }

  async addresses(userId: string): Promise<MaskedAddress[]> {
    return (await this.deliveries.addresses(userId)).map((a) => ({ channel: a.channel, address: maskAddress(a.channel, a.address), updatedAt: a.updatedAt }));
  }

  /** A notification's deliveries (channel order), or null when `notificationId` is not an id. */
  async forNotification(notificationId: string): Promise<Delivery[] | null> {
    if (decodeSeq(notificationId) === null) return null;
    const found = await this.deliveries.get(EXTERNAL_CHANNELS.map((c) => deliveryId(notificationId, c)));
    return found.filter((d): d is Delivery => d !== null);
  }

  async get(id: string): Promise<Delivery | null> {
    if (!DELIVERY_ID.test(id)) return null;
    const [d] = await this.deliveries.get([id]);
    return d ?? null;
  }

  log(args: { first: number; after?: string | null; filter?: { status?: readonly DeliveryStatus[] | null; channel?: string | null; userId?: string | null } | null }): Promise<DeliveryLogPage> {
    const first = v.pageSize('first', args.first);
    if (args.after && !DELIVERY_ID.test(args.after)) throw badInput('after', 'must be a delivery id (a cursor from a previous page)');
    const f = args.filter ?? {};
    if (f.channel === 'IN_APP') return Promise.resolve({ items: [], hasNextPage: false, totalCount: 0 });
    if (f.userId) v.externalId('filter.userId', f.userId);
    return this.deliveries.log({ first, after: args.after, status: f.status, channel: (f.channel as ExternalChannel | null | undefined) ?? null, userId: f.userId });
  }

  async retry(id: string): Promise<Delivery> {
    if (!DELIVERY_ID.test(id)) throw new DomainError('NOT_FOUND', `delivery ${JSON.stringify(id)} not found`, 'id');
    const r = await this.deliveries.retry(id, this.now());
    if (r === 'not_found') throw new DomainError('NOT_FOUND', `delivery ${id} not found`, 'id');
    if (r === 'not_failed') throw badInput('id', 'only a FAILED delivery can be retried');
    return r;
  }
}
