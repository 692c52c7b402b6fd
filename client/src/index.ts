/**
 * The notification server's client kit: every operation of the server's operation files as a
 * typed document (codegen, with its persisted-operation hash), and an inbox client.
 */
export * from './gql/graphql.js';
export { default as persistedDocuments } from './gql/persisted-documents.json' with { type: 'json' };
export {
  createInboxClient,
  InboxClientError,
  type InboxClient,
  type InboxClientOptions,
  type InboxConnection,
  type InboxNotification,
  type InboxState,
} from './inbox-client.js';
