import type { Delivery } from './deliveries.js';
import type { DeliveryLogPage, DeliveryLogQuery } from './delivery-store.js';

const CHUNK = 500;

/**
 * Pages the delivery log newest first, filtering as it reads (both backends): `read(before, n)`
 * returns up to n ids older than `before` (null: from the newest) with their records.
 * `totalCount` is passed when the backend keeps the count (status and channel filters); with a
 * user filter it is null and the whole log is read to count (admin only; the log is bounded by
 * the retention).
 */
export async function scanLog(
  q: DeliveryLogQuery,
  totalCount: number | null,
  read: (before: string | null, n: number) => Promise<{ ids: string[]; records: (Delivery | null)[] }>,
): Promise<DeliveryLogPage> {
  const statuses = q.status?.length ? new Set(q.status) : null;
  const matches = (d: Delivery) =>
    (!statuses || statuses.has(d.status)) && (!q.channel || d.channel === q.channel) && (!q.userId || d.userId === q.userId);
  const after = q.after ?? null;
  const counting = totalCount === null;
  const items: Delivery[] = [];
  let hasNextPage = false;
  let counted = 0;
  // Counting reads from the newest entry; otherwise the page starts right after `after`.
  let cursor = counting ? null : after;
  for (;;) {
    const { ids, records } = await read(cursor, CHUNK);
    records.forEach((d, i) => {
      if (!d || !matches(d)) return;
      counted++;
      if (after !== null && ids[i]! >= after) return;
      if (items.length < q.first) items.push(d);
      else hasNextPage = true;
    });
    if (ids.length < CHUNK || (hasNextPage && !counting)) break;
    cursor = ids.at(-1)!;
  }
  return { items, hasNextPage, totalCount: totalCount ?? counted };
}
