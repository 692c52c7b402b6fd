/**
 * Which errors mean "the backend is not answering right now" rather than "something is wrong":
 * ioredis' own (the command timed out, its retries ran out, the connection is closed, not
 * writable, or closed under a pipeline) and Redis' replies while it can't serve (loading its
 * data after a restart, a busy script, a replica without its primary, a write that did not
 * reach its replicas in time: REDIS_WAIT_REPLICAS). maskError (src/server/yoga.ts) answers them with the
 * retryable code SERVICE_UNAVAILABLE instead of a masked internal error.
 */
const CLIENT_MESSAGES = [
  /^Command timed out$/,
  /^Connection is closed\.?$/,
  /^Stream isn't writeable/,
  /^Reached the max retries per request limit/,
  // the rest of a pipeline whose connection closed after its first replies (a WAIT after a
  // write): the write may have been applied, as with NOREPLICAS
  /^Command aborted due to connection close$/,
  // a Cluster client while a node fails over or none answers
  /^Too many Cluster redirections/,
  /^Cluster isn't ready/,
  /^None of startup nodes is available/,
  /^Node is disconnected/,
  /^Cluster is disconnect(ed|ing)/,
];
const REPLY_CODES = /^(LOADING|BUSY|MASTERDOWN|TRYAGAIN|CLUSTERDOWN|READONLY|NOREPLICAS|MOVED|ASK)\b/;

export function isBackendUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  if (err.name === 'MaxRetriesPerRequestError') return true;
  return CLIENT_MESSAGES.some((m) => m.test(err.message)) || REPLY_CODES.test(err.message);
}

/** Seconds a client is told to wait before retrying (the Retry-After header over HTTP). */
export const RETRY_AFTER_S = 1;
