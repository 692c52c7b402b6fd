/**
 * The typed documents of the operations in ./operations/*.graphql (codegen writes them to
 * ./gql/graphql.ts), under the names our tests and TypeScript clients use.
 */
export {
  MeDocument as MeQuery,
  UserDocument as UserQuery,
  NotificationFieldsFragmentDoc as NotificationFieldsFragment,
  NotificationsDocument as NotificationsQuery,
  NotificationDocument as NotificationQuery,
  NodeDocument as NodeQuery,
  NotificationTypesDocument as NotificationTypesQuery,
  TemplatesDocument as TemplatesQuery,
  SendNotificationDocument as SendNotificationMutation,
  BroadcastDocument as BroadcastMutation,
  MarkReadDocument as MarkReadMutation,
  MarkUnreadDocument as MarkUnreadMutation,
  MarkAllReadDocument as MarkAllReadMutation,
  DeleteNotificationsDocument as DeleteNotificationsMutation,
  UpdatePreferencesDocument as UpdatePreferencesMutation,
  UpsertUserDocument as UpsertUserMutation,
  SetNotificationTypePolicyDocument as SetNotificationTypePolicyMutation,
  UpsertTemplateDocument as UpsertTemplateMutation,
  NotificationReceivedDocument as NotificationReceivedSubscription,
  UnreadCountChangedDocument as UnreadCountChangedSubscription,
  TopicDocument as TopicSubscription,
  PublishDocument as PublishMutation,
  DashboardFieldsFragmentDoc as DashboardFieldsFragment,
  DashboardDocument as DashboardQuery,
  DashboardUpdatedDocument as DashboardUpdatedSubscription,
  JobFieldsFragmentDoc as JobFieldsFragment,
  JobsDocument as JobsQuery,
  RunJobDocument as RunJobMutation,
} from './gql/graphql.js';
