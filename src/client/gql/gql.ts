/* eslint-disable */
import * as types from './graphql.js';
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';

/**
 * Map of all GraphQL operations in the project.
 *
 * This map has several performance disadvantages:
 * 1. It is not tree-shakeable, so it will include all operations in the project.
 * 2. It is not minifiable, so the string of a GraphQL query will be multiple times inside the bundle.
 * 3. It does not support dead code elimination, so it will add unused operations.
 *
 * Therefore it is highly recommended to use the babel or swc plugin for production.
 * Learn more about it here: https://the-guild.dev/graphql/codegen/plugins/presets/preset-client#reducing-bundle-size
 */
type Documents = {
    "\n  query Me {\n    me {\n      id\n      displayName\n      active\n      createdAt\n      unreadCount\n      preferences {\n        mutedTypes\n        channels {\n          type\n          channels\n        }\n      }\n    }\n  }\n": typeof types.MeDocument,
    "\n  query User($id: ID!) {\n    user(id: $id) {\n      id\n      displayName\n      active\n      unreadCount\n    }\n  }\n": typeof types.UserDocument,
    "\n  fragment NotificationFields on Notification {\n    id\n    type\n    title\n    body\n    data\n    priority\n    createdAt\n    expiresAt\n    readAt\n    read\n    broadcastId\n  }\n": typeof types.NotificationFieldsFragmentDoc,
    "\n  query Notifications($first: Int, $after: String, $filter: NotificationFilter) {\n    notifications(first: $first, after: $after, filter: $filter) {\n      totalCount\n      unreadCount\n      pageInfo {\n        hasNextPage\n        hasPreviousPage\n        startCursor\n        endCursor\n      }\n      edges {\n        cursor\n        node {\n          ...NotificationFields\n          recipient {\n            id\n            displayName\n          }\n        }\n      }\n    }\n  }\n": typeof types.NotificationsDocument,
    "\n  query Notification($id: ID!) {\n    notification(id: $id) {\n      ...NotificationFields\n    }\n  }\n": typeof types.NotificationDocument,
    "\n  query Node($id: ID!) {\n    node(id: $id) {\n      id\n      __typename\n    }\n  }\n": typeof types.NodeDocument,
    "\n  query NotificationTypes {\n    notificationTypes {\n      type\n      ttlSeconds\n      defaultPriority\n      dedupWindowSeconds\n      description\n    }\n  }\n": typeof types.NotificationTypesDocument,
    "\n  query Templates {\n    templates {\n      name\n      type\n      title\n      body\n    }\n  }\n": typeof types.TemplatesDocument,
    "\n  mutation SendNotification($input: SendNotificationInput!) {\n    sendNotification(input: $input) {\n      notifications {\n        ...NotificationFields\n        recipient {\n          id\n        }\n      }\n      deduplicated\n      muted\n      scheduledId\n    }\n  }\n": typeof types.SendNotificationDocument,
    "\n  mutation Broadcast($input: BroadcastInput!) {\n    broadcast(input: $input) {\n      id\n      type\n      title\n      createdAt\n      saveOffline\n      recipients\n      deduplicated\n      muted\n    }\n  }\n": typeof types.BroadcastDocument,
    "\n  mutation MarkRead($ids: [ID!]!) {\n    markRead(ids: $ids) {\n      id\n      read\n      readAt\n    }\n  }\n": typeof types.MarkReadDocument,
    "\n  mutation MarkUnread($ids: [ID!]!) {\n    markUnread(ids: $ids) {\n      id\n      read\n      readAt\n    }\n  }\n": typeof types.MarkUnreadDocument,
    "\n  mutation MarkAllRead {\n    markAllRead\n  }\n": typeof types.MarkAllReadDocument,
    "\n  mutation DeleteNotifications($ids: [ID!]!) {\n    deleteNotifications(ids: $ids)\n  }\n": typeof types.DeleteNotificationsDocument,
    "\n  mutation UpdatePreferences($input: PreferencesInput!) {\n    updatePreferences(input: $input) {\n      mutedTypes\n      channels {\n        type\n        channels\n      }\n    }\n  }\n": typeof types.UpdatePreferencesDocument,
    "\n  mutation UpsertUser($id: ID!, $displayName: String, $active: Boolean) {\n    upsertUser(id: $id, displayName: $displayName, active: $active) {\n      id\n      displayName\n      active\n    }\n  }\n": typeof types.UpsertUserDocument,
    "\n  mutation SetNotificationTypePolicy($type: String!, $ttlSeconds: Int!, $defaultPriority: Priority, $dedupWindowSeconds: Int, $description: String) {\n    setNotificationTypePolicy(\n      type: $type\n      ttlSeconds: $ttlSeconds\n      defaultPriority: $defaultPriority\n      dedupWindowSeconds: $dedupWindowSeconds\n      description: $description\n    ) {\n      type\n      ttlSeconds\n      defaultPriority\n      dedupWindowSeconds\n      description\n    }\n  }\n": typeof types.SetNotificationTypePolicyDocument,
    "\n  mutation UpsertTemplate($input: TemplateInput!) {\n    upsertTemplate(input: $input) {\n      name\n      type\n      title\n      body\n    }\n  }\n": typeof types.UpsertTemplateDocument,
    "\n  subscription NotificationReceived($after: String) {\n    notificationReceived(after: $after) {\n      ...NotificationFields\n    }\n  }\n": typeof types.NotificationReceivedDocument,
    "\n  subscription Inbox($after: String) {\n    inbox(after: $after) {\n      notification {\n        ...NotificationFields\n      }\n      unreadCount\n      readIds\n      unreadIds\n      removedIds\n      replayComplete\n    }\n  }\n": typeof types.InboxDocument,
    "\n  subscription UnreadCountChanged {\n    unreadCountChanged\n  }\n": typeof types.UnreadCountChangedDocument,
    "\n  subscription Topic($names: [String!]!) {\n    topic(names: $names) {\n      topic\n      payload\n      publishedAt\n    }\n  }\n": typeof types.TopicDocument,
    "\n  mutation Publish($topic: String!, $payload: JSON!) {\n    publish(topic: $topic, payload: $payload) {\n      topic\n      payload\n      publishedAt\n    }\n  }\n": typeof types.PublishDocument,
    "\n  fragment DashboardFields on Dashboard {\n    system {\n      uptimeSeconds\n      loadAverage\n      memoryRssBytes\n      connectedClients\n      redisUsedMemoryBytes\n    }\n    notifications {\n      sentToday\n      activeUsers\n      byType {\n        type\n        count\n      }\n      deduplicatedToday\n    }\n    cache {\n      hits\n      misses\n      hitRate\n    }\n    generatedAt\n  }\n": typeof types.DashboardFieldsFragmentDoc,
    "\n  query Dashboard {\n    dashboard {\n      ...DashboardFields\n    }\n  }\n": typeof types.DashboardDocument,
    "\n  subscription DashboardUpdated {\n    dashboardUpdated {\n      ...DashboardFields\n    }\n  }\n": typeof types.DashboardUpdatedDocument,
    "\n  fragment JobFields on Job {\n    name\n    schedule\n    timezone\n    lastRunAt\n    lastStatus\n    nextRunAt\n  }\n": typeof types.JobFieldsFragmentDoc,
    "\n  query Jobs {\n    jobs {\n      ...JobFields\n    }\n  }\n": typeof types.JobsDocument,
    "\n  mutation RunJob($name: ID!) {\n    runJob(name: $name) {\n      ...JobFields\n    }\n  }\n": typeof types.RunJobDocument,
    "\n  fragment DeliveryFields on Delivery {\n    id\n    notificationId\n    userId\n    channel\n    status\n    attempts\n    lastError\n    createdAt\n    nextAttemptAt\n    deliveredAt\n  }\n": typeof types.DeliveryFieldsFragmentDoc,
    "\n  mutation SetChannelAddress($userId: ID!, $input: ChannelAddressInput!) {\n    setChannelAddress(userId: $userId, input: $input) {\n      webhookSecret\n      user {\n        id\n        channelAddresses {\n          channel\n          address\n          updatedAt\n        }\n      }\n    }\n  }\n": typeof types.SetChannelAddressDocument,
    "\n  mutation RemoveChannelAddress($userId: ID!, $channel: Channel!) {\n    removeChannelAddress(userId: $userId, channel: $channel) {\n      id\n      channelAddresses {\n        channel\n        address\n      }\n    }\n  }\n": typeof types.RemoveChannelAddressDocument,
    "\n  query Deliveries($notificationId: ID!) {\n    deliveries(notificationId: $notificationId) {\n      ...DeliveryFields\n    }\n  }\n": typeof types.DeliveriesDocument,
    "\n  query DeliveryLog($first: Int, $after: String, $filter: DeliveryFilter) {\n    deliveryLog(first: $first, after: $after, filter: $filter) {\n      totalCount\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n      edges {\n        cursor\n        node {\n          ...DeliveryFields\n        }\n      }\n    }\n  }\n": typeof types.DeliveryLogDocument,
    "\n  mutation RetryDelivery($id: ID!) {\n    retryDelivery(id: $id) {\n      ...DeliveryFields\n    }\n  }\n": typeof types.RetryDeliveryDocument,
};
const documents: Documents = {
    "\n  query Me {\n    me {\n      id\n      displayName\n      active\n      createdAt\n      unreadCount\n      preferences {\n        mutedTypes\n        channels {\n          type\n          channels\n        }\n      }\n    }\n  }\n": types.MeDocument,
    "\n  query User($id: ID!) {\n    user(id: $id) {\n      id\n      displayName\n      active\n      unreadCount\n    }\n  }\n": types.UserDocument,
    "\n  fragment NotificationFields on Notification {\n    id\n    type\n    title\n    body\n    data\n    priority\n    createdAt\n    expiresAt\n    readAt\n    read\n    broadcastId\n  }\n": types.NotificationFieldsFragmentDoc,
    "\n  query Notifications($first: Int, $after: String, $filter: NotificationFilter) {\n    notifications(first: $first, after: $after, filter: $filter) {\n      totalCount\n      unreadCount\n      pageInfo {\n        hasNextPage\n        hasPreviousPage\n        startCursor\n        endCursor\n      }\n      edges {\n        cursor\n        node {\n          ...NotificationFields\n          recipient {\n            id\n            displayName\n          }\n        }\n      }\n    }\n  }\n": types.NotificationsDocument,
    "\n  query Notification($id: ID!) {\n    notification(id: $id) {\n      ...NotificationFields\n    }\n  }\n": types.NotificationDocument,
    "\n  query Node($id: ID!) {\n    node(id: $id) {\n      id\n      __typename\n    }\n  }\n": types.NodeDocument,
    "\n  query NotificationTypes {\n    notificationTypes {\n      type\n      ttlSeconds\n      defaultPriority\n      dedupWindowSeconds\n      description\n    }\n  }\n": types.NotificationTypesDocument,
    "\n  query Templates {\n    templates {\n      name\n      type\n      title\n      body\n    }\n  }\n": types.TemplatesDocument,
    "\n  mutation SendNotification($input: SendNotificationInput!) {\n    sendNotification(input: $input) {\n      notifications {\n        ...NotificationFields\n        recipient {\n          id\n        }\n      }\n      deduplicated\n      muted\n      scheduledId\n    }\n  }\n": types.SendNotificationDocument,
    "\n  mutation Broadcast($input: BroadcastInput!) {\n    broadcast(input: $input) {\n      id\n      type\n      title\n      createdAt\n      saveOffline\n      recipients\n      deduplicated\n      muted\n    }\n  }\n": types.BroadcastDocument,
    "\n  mutation MarkRead($ids: [ID!]!) {\n    markRead(ids: $ids) {\n      id\n      read\n      readAt\n    }\n  }\n": types.MarkReadDocument,
    "\n  mutation MarkUnread($ids: [ID!]!) {\n    markUnread(ids: $ids) {\n      id\n      read\n      readAt\n    }\n  }\n": types.MarkUnreadDocument,
    "\n  mutation MarkAllRead {\n    markAllRead\n  }\n": types.MarkAllReadDocument,
    "\n  mutation DeleteNotifications($ids: [ID!]!) {\n    deleteNotifications(ids: $ids)\n  }\n": types.DeleteNotificationsDocument,
    "\n  mutation UpdatePreferences($input: PreferencesInput!) {\n    updatePreferences(input: $input) {\n      mutedTypes\n      channels {\n        type\n        channels\n      }\n    }\n  }\n": types.UpdatePreferencesDocument,
    "\n  mutation UpsertUser($id: ID!, $displayName: String, $active: Boolean) {\n    upsertUser(id: $id, displayName: $displayName, active: $active) {\n      id\n      displayName\n      active\n    }\n  }\n": types.UpsertUserDocument,
    "\n  mutation SetNotificationTypePolicy($type: String!, $ttlSeconds: Int!, $defaultPriority: Priority, $dedupWindowSeconds: Int, $description: String) {\n    setNotificationTypePolicy(\n      type: $type\n      ttlSeconds: $ttlSeconds\n      defaultPriority: $defaultPriority\n      dedupWindowSeconds: $dedupWindowSeconds\n      description: $description\n    ) {\n      type\n      ttlSeconds\n      defaultPriority\n      dedupWindowSeconds\n      description\n    }\n  }\n": types.SetNotificationTypePolicyDocument,
    "\n  mutation UpsertTemplate($input: TemplateInput!) {\n    upsertTemplate(input: $input) {\n      name\n      type\n      title\n      body\n    }\n  }\n": types.UpsertTemplateDocument,
    "\n  subscription NotificationReceived($after: String) {\n    notificationReceived(after: $after) {\n      ...NotificationFields\n    }\n  }\n": types.NotificationReceivedDocument,
    "\n  subscription Inbox($after: String) {\n    inbox(after: $after) {\n      notification {\n        ...NotificationFields\n      }\n      unreadCount\n      readIds\n      unreadIds\n      removedIds\n      replayComplete\n    }\n  }\n": types.InboxDocument,
    "\n  subscription UnreadCountChanged {\n    unreadCountChanged\n  }\n": types.UnreadCountChangedDocument,
    "\n  subscription Topic($names: [String!]!) {\n    topic(names: $names) {\n      topic\n      payload\n      publishedAt\n    }\n  }\n": types.TopicDocument,
    "\n  mutation Publish($topic: String!, $payload: JSON!) {\n    publish(topic: $topic, payload: $payload) {\n      topic\n      payload\n      publishedAt\n    }\n  }\n": types.PublishDocument,
    "\n  fragment DashboardFields on Dashboard {\n    system {\n      uptimeSeconds\n      loadAverage\n      memoryRssBytes\n      connectedClients\n      redisUsedMemoryBytes\n    }\n    notifications {\n      sentToday\n      activeUsers\n      byType {\n        type\n        count\n      }\n      deduplicatedToday\n    }\n    cache {\n      hits\n      misses\n      hitRate\n    }\n    generatedAt\n  }\n": types.DashboardFieldsFragmentDoc,
    "\n  query Dashboard {\n    dashboard {\n      ...DashboardFields\n    }\n  }\n": types.DashboardDocument,
    "\n  subscription DashboardUpdated {\n    dashboardUpdated {\n      ...DashboardFields\n    }\n  }\n": types.DashboardUpdatedDocument,
    "\n  fragment JobFields on Job {\n    name\n    schedule\n    timezone\n    lastRunAt\n    lastStatus\n    nextRunAt\n  }\n": types.JobFieldsFragmentDoc,
    "\n  query Jobs {\n    jobs {\n      ...JobFields\n    }\n  }\n": types.JobsDocument,
    "\n  mutation RunJob($name: ID!) {\n    runJob(name: $name) {\n      ...JobFields\n    }\n  }\n": types.RunJobDocument,
    "\n  fragment DeliveryFields on Delivery {\n    id\n    notificationId\n    userId\n    channel\n    status\n    attempts\n    lastError\n    createdAt\n    nextAttemptAt\n    deliveredAt\n  }\n": types.DeliveryFieldsFragmentDoc,
    "\n  mutation SetChannelAddress($userId: ID!, $input: ChannelAddressInput!) {\n    setChannelAddress(userId: $userId, input: $input) {\n      webhookSecret\n      user {\n        id\n        channelAddresses {\n          channel\n          address\n          updatedAt\n        }\n      }\n    }\n  }\n": types.SetChannelAddressDocument,
    "\n  mutation RemoveChannelAddress($userId: ID!, $channel: Channel!) {\n    removeChannelAddress(userId: $userId, channel: $channel) {\n      id\n      channelAddresses {\n        channel\n        address\n      }\n    }\n  }\n": types.RemoveChannelAddressDocument,
    "\n  query Deliveries($notificationId: ID!) {\n    deliveries(notificationId: $notificationId) {\n      ...DeliveryFields\n    }\n  }\n": types.DeliveriesDocument,
    "\n  query DeliveryLog($first: Int, $after: String, $filter: DeliveryFilter) {\n    deliveryLog(first: $first, after: $after, filter: $filter) {\n      totalCount\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n      edges {\n        cursor\n        node {\n          ...DeliveryFields\n        }\n      }\n    }\n  }\n": types.DeliveryLogDocument,
    "\n  mutation RetryDelivery($id: ID!) {\n    retryDelivery(id: $id) {\n      ...DeliveryFields\n    }\n  }\n": types.RetryDeliveryDocument,
};

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 *
 *
 * @example
 * ```ts
 * const query = graphql(`query GetUser($id: ID!) { user(id: $id) { name } }`);
 * ```
 *
 * The query argument is unknown!
 * Please regenerate the types.
 */
export function graphql(source: string): unknown;

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Me {\n    me {\n      id\n      displayName\n      active\n      createdAt\n      unreadCount\n      preferences {\n        mutedTypes\n        channels {\n          type\n          channels\n        }\n      }\n    }\n  }\n"): (typeof documents)["\n  query Me {\n    me {\n      id\n      displayName\n      active\n      createdAt\n      unreadCount\n      preferences {\n        mutedTypes\n        channels {\n          type\n          channels\n        }\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query User($id: ID!) {\n    user(id: $id) {\n      id\n      displayName\n      active\n      unreadCount\n    }\n  }\n"): (typeof documents)["\n  query User($id: ID!) {\n    user(id: $id) {\n      id\n      displayName\n      active\n      unreadCount\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment NotificationFields on Notification {\n    id\n    type\n    title\n    body\n    data\n    priority\n    createdAt\n    expiresAt\n    readAt\n    read\n    broadcastId\n  }\n"): (typeof documents)["\n  fragment NotificationFields on Notification {\n    id\n    type\n    title\n    body\n    data\n    priority\n    createdAt\n    expiresAt\n    readAt\n    read\n    broadcastId\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Notifications($first: Int, $after: String, $filter: NotificationFilter) {\n    notifications(first: $first, after: $after, filter: $filter) {\n      totalCount\n      unreadCount\n      pageInfo {\n        hasNextPage\n        hasPreviousPage\n        startCursor\n        endCursor\n      }\n      edges {\n        cursor\n        node {\n          ...NotificationFields\n          recipient {\n            id\n            displayName\n          }\n        }\n      }\n    }\n  }\n"): (typeof documents)["\n  query Notifications($first: Int, $after: String, $filter: NotificationFilter) {\n    notifications(first: $first, after: $after, filter: $filter) {\n      totalCount\n      unreadCount\n      pageInfo {\n        hasNextPage\n        hasPreviousPage\n        startCursor\n        endCursor\n      }\n      edges {\n        cursor\n        node {\n          ...NotificationFields\n          recipient {\n            id\n            displayName\n          }\n        }\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Notification($id: ID!) {\n    notification(id: $id) {\n      ...NotificationFields\n    }\n  }\n"): (typeof documents)["\n  query Notification($id: ID!) {\n    notification(id: $id) {\n      ...NotificationFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Node($id: ID!) {\n    node(id: $id) {\n      id\n      __typename\n    }\n  }\n"): (typeof documents)["\n  query Node($id: ID!) {\n    node(id: $id) {\n      id\n      __typename\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query NotificationTypes {\n    notificationTypes {\n      type\n      ttlSeconds\n      defaultPriority\n      dedupWindowSeconds\n      description\n    }\n  }\n"): (typeof documents)["\n  query NotificationTypes {\n    notificationTypes {\n      type\n      ttlSeconds\n      defaultPriority\n      dedupWindowSeconds\n      description\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Templates {\n    templates {\n      name\n      type\n      title\n      body\n    }\n  }\n"): (typeof documents)["\n  query Templates {\n    templates {\n      name\n      type\n      title\n      body\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation SendNotification($input: SendNotificationInput!) {\n    sendNotification(input: $input) {\n      notifications {\n        ...NotificationFields\n        recipient {\n          id\n        }\n      }\n      deduplicated\n      muted\n      scheduledId\n    }\n  }\n"): (typeof documents)["\n  mutation SendNotification($input: SendNotificationInput!) {\n    sendNotification(input: $input) {\n      notifications {\n        ...NotificationFields\n        recipient {\n          id\n        }\n      }\n      deduplicated\n      muted\n      scheduledId\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation Broadcast($input: BroadcastInput!) {\n    broadcast(input: $input) {\n      id\n      type\n      title\n      createdAt\n      saveOffline\n      recipients\n      deduplicated\n      muted\n    }\n  }\n"): (typeof documents)["\n  mutation Broadcast($input: BroadcastInput!) {\n    broadcast(input: $input) {\n      id\n      type\n      title\n      createdAt\n      saveOffline\n      recipients\n      deduplicated\n      muted\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation MarkRead($ids: [ID!]!) {\n    markRead(ids: $ids) {\n      id\n      read\n      readAt\n    }\n  }\n"): (typeof documents)["\n  mutation MarkRead($ids: [ID!]!) {\n    markRead(ids: $ids) {\n      id\n      read\n      readAt\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation MarkUnread($ids: [ID!]!) {\n    markUnread(ids: $ids) {\n      id\n      read\n      readAt\n    }\n  }\n"): (typeof documents)["\n  mutation MarkUnread($ids: [ID!]!) {\n    markUnread(ids: $ids) {\n      id\n      read\n      readAt\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation MarkAllRead {\n    markAllRead\n  }\n"): (typeof documents)["\n  mutation MarkAllRead {\n    markAllRead\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation DeleteNotifications($ids: [ID!]!) {\n    deleteNotifications(ids: $ids)\n  }\n"): (typeof documents)["\n  mutation DeleteNotifications($ids: [ID!]!) {\n    deleteNotifications(ids: $ids)\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation UpdatePreferences($input: PreferencesInput!) {\n    updatePreferences(input: $input) {\n      mutedTypes\n      channels {\n        type\n        channels\n      }\n    }\n  }\n"): (typeof documents)["\n  mutation UpdatePreferences($input: PreferencesInput!) {\n    updatePreferences(input: $input) {\n      mutedTypes\n      channels {\n        type\n        channels\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation UpsertUser($id: ID!, $displayName: String, $active: Boolean) {\n    upsertUser(id: $id, displayName: $displayName, active: $active) {\n      id\n      displayName\n      active\n    }\n  }\n"): (typeof documents)["\n  mutation UpsertUser($id: ID!, $displayName: String, $active: Boolean) {\n    upsertUser(id: $id, displayName: $displayName, active: $active) {\n      id\n      displayName\n      active\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation SetNotificationTypePolicy($type: String!, $ttlSeconds: Int!, $defaultPriority: Priority, $dedupWindowSeconds: Int, $description: String) {\n    setNotificationTypePolicy(\n      type: $type\n      ttlSeconds: $ttlSeconds\n      defaultPriority: $defaultPriority\n      dedupWindowSeconds: $dedupWindowSeconds\n      description: $description\n    ) {\n      type\n      ttlSeconds\n      defaultPriority\n      dedupWindowSeconds\n      description\n    }\n  }\n"): (typeof documents)["\n  mutation SetNotificationTypePolicy($type: String!, $ttlSeconds: Int!, $defaultPriority: Priority, $dedupWindowSeconds: Int, $description: String) {\n    setNotificationTypePolicy(\n      type: $type\n      ttlSeconds: $ttlSeconds\n      defaultPriority: $defaultPriority\n      dedupWindowSeconds: $dedupWindowSeconds\n      description: $description\n    ) {\n      type\n      ttlSeconds\n      defaultPriority\n      dedupWindowSeconds\n      description\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation UpsertTemplate($input: TemplateInput!) {\n    upsertTemplate(input: $input) {\n      name\n      type\n      title\n      body\n    }\n  }\n"): (typeof documents)["\n  mutation UpsertTemplate($input: TemplateInput!) {\n    upsertTemplate(input: $input) {\n      name\n      type\n      title\n      body\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription NotificationReceived($after: String) {\n    notificationReceived(after: $after) {\n      ...NotificationFields\n    }\n  }\n"): (typeof documents)["\n  subscription NotificationReceived($after: String) {\n    notificationReceived(after: $after) {\n      ...NotificationFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription Inbox($after: String) {\n    inbox(after: $after) {\n      notification {\n        ...NotificationFields\n      }\n      unreadCount\n      readIds\n      unreadIds\n      removedIds\n      replayComplete\n    }\n  }\n"): (typeof documents)["\n  subscription Inbox($after: String) {\n    inbox(after: $after) {\n      notification {\n        ...NotificationFields\n      }\n      unreadCount\n      readIds\n      unreadIds\n      removedIds\n      replayComplete\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription UnreadCountChanged {\n    unreadCountChanged\n  }\n"): (typeof documents)["\n  subscription UnreadCountChanged {\n    unreadCountChanged\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription Topic($names: [String!]!) {\n    topic(names: $names) {\n      topic\n      payload\n      publishedAt\n    }\n  }\n"): (typeof documents)["\n  subscription Topic($names: [String!]!) {\n    topic(names: $names) {\n      topic\n      payload\n      publishedAt\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation Publish($topic: String!, $payload: JSON!) {\n    publish(topic: $topic, payload: $payload) {\n      topic\n      payload\n      publishedAt\n    }\n  }\n"): (typeof documents)["\n  mutation Publish($topic: String!, $payload: JSON!) {\n    publish(topic: $topic, payload: $payload) {\n      topic\n      payload\n      publishedAt\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment DashboardFields on Dashboard {\n    system {\n      uptimeSeconds\n      loadAverage\n      memoryRssBytes\n      connectedClients\n      redisUsedMemoryBytes\n    }\n    notifications {\n      sentToday\n      activeUsers\n      byType {\n        type\n        count\n      }\n      deduplicatedToday\n    }\n    cache {\n      hits\n      misses\n      hitRate\n    }\n    generatedAt\n  }\n"): (typeof documents)["\n  fragment DashboardFields on Dashboard {\n    system {\n      uptimeSeconds\n      loadAverage\n      memoryRssBytes\n      connectedClients\n      redisUsedMemoryBytes\n    }\n    notifications {\n      sentToday\n      activeUsers\n      byType {\n        type\n        count\n      }\n      deduplicatedToday\n    }\n    cache {\n      hits\n      misses\n      hitRate\n    }\n    generatedAt\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Dashboard {\n    dashboard {\n      ...DashboardFields\n    }\n  }\n"): (typeof documents)["\n  query Dashboard {\n    dashboard {\n      ...DashboardFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription DashboardUpdated {\n    dashboardUpdated {\n      ...DashboardFields\n    }\n  }\n"): (typeof documents)["\n  subscription DashboardUpdated {\n    dashboardUpdated {\n      ...DashboardFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment JobFields on Job {\n    name\n    schedule\n    timezone\n    lastRunAt\n    lastStatus\n    nextRunAt\n  }\n"): (typeof documents)["\n  fragment JobFields on Job {\n    name\n    schedule\n    timezone\n    lastRunAt\n    lastStatus\n    nextRunAt\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Jobs {\n    jobs {\n      ...JobFields\n    }\n  }\n"): (typeof documents)["\n  query Jobs {\n    jobs {\n      ...JobFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation RunJob($name: ID!) {\n    runJob(name: $name) {\n      ...JobFields\n    }\n  }\n"): (typeof documents)["\n  mutation RunJob($name: ID!) {\n    runJob(name: $name) {\n      ...JobFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment DeliveryFields on Delivery {\n    id\n    notificationId\n    userId\n    channel\n    status\n    attempts\n    lastError\n    createdAt\n    nextAttemptAt\n    deliveredAt\n  }\n"): (typeof documents)["\n  fragment DeliveryFields on Delivery {\n    id\n    notificationId\n    userId\n    channel\n    status\n    attempts\n    lastError\n    createdAt\n    nextAttemptAt\n    deliveredAt\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation SetChannelAddress($userId: ID!, $input: ChannelAddressInput!) {\n    setChannelAddress(userId: $userId, input: $input) {\n      webhookSecret\n      user {\n        id\n        channelAddresses {\n          channel\n          address\n          updatedAt\n        }\n      }\n    }\n  }\n"): (typeof documents)["\n  mutation SetChannelAddress($userId: ID!, $input: ChannelAddressInput!) {\n    setChannelAddress(userId: $userId, input: $input) {\n      webhookSecret\n      user {\n        id\n        channelAddresses {\n          channel\n          address\n          updatedAt\n        }\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation RemoveChannelAddress($userId: ID!, $channel: Channel!) {\n    removeChannelAddress(userId: $userId, channel: $channel) {\n      id\n      channelAddresses {\n        channel\n        address\n      }\n    }\n  }\n"): (typeof documents)["\n  mutation RemoveChannelAddress($userId: ID!, $channel: Channel!) {\n    removeChannelAddress(userId: $userId, channel: $channel) {\n      id\n      channelAddresses {\n        channel\n        address\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Deliveries($notificationId: ID!) {\n    deliveries(notificationId: $notificationId) {\n      ...DeliveryFields\n    }\n  }\n"): (typeof documents)["\n  query Deliveries($notificationId: ID!) {\n    deliveries(notificationId: $notificationId) {\n      ...DeliveryFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query DeliveryLog($first: Int, $after: String, $filter: DeliveryFilter) {\n    deliveryLog(first: $first, after: $after, filter: $filter) {\n      totalCount\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n      edges {\n        cursor\n        node {\n          ...DeliveryFields\n        }\n      }\n    }\n  }\n"): (typeof documents)["\n  query DeliveryLog($first: Int, $after: String, $filter: DeliveryFilter) {\n    deliveryLog(first: $first, after: $after, filter: $filter) {\n      totalCount\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n      edges {\n        cursor\n        node {\n          ...DeliveryFields\n        }\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation RetryDelivery($id: ID!) {\n    retryDelivery(id: $id) {\n      ...DeliveryFields\n    }\n  }\n"): (typeof documents)["\n  mutation RetryDelivery($id: ID!) {\n    retryDelivery(id: $id) {\n      ...DeliveryFields\n    }\n  }\n"];

export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}

export type DocumentType<TDocumentNode extends DocumentNode<any, any>> = TDocumentNode extends DocumentNode<  infer TType,  any>  ? TType  : never;