import { graphql } from './gql/index.js';

/** The operations our clients (and the e2e tests) use; codegen types them from schema.graphql. */

export const MeQuery = graphql(`
  query Me {
    me {
      id
      displayName
      active
      createdAt
      unreadCount
      preferences {
        mutedTypes
        channels {
          type
          channels
        }
      }
    }
  }
`);

export const UserQuery = graphql(`
  query User($id: ID!) {
    user(id: $id) {
      id
      displayName
      active
      unreadCount
    }
  }
`);

export const NotificationFieldsFragment = graphql(`
  fragment NotificationFields on Notification {
    id
    type
    title
    body
    data
    priority
    createdAt
    expiresAt
    readAt
    read
    broadcastId
  }
`);

export const NotificationsQuery = graphql(`
  query Notifications($first: Int, $after: String, $filter: NotificationFilter) {
    notifications(first: $first, after: $after, filter: $filter) {
      totalCount
      unreadCount
      pageInfo {
        hasNextPage
        hasPreviousPage
        startCursor
        endCursor
      }
      edges {
        cursor
        node {
          ...NotificationFields
          recipient {
            id
            displayName
          }
        }
      }
    }
  }
`);

export const NotificationQuery = graphql(`
  query Notification($id: ID!) {
    notification(id: $id) {
      ...NotificationFields
    }
  }
`);

export const NodeQuery = graphql(`
  query Node($id: ID!) {
    node(id: $id) {
      id
      __typename
    }
  }
`);

export const NotificationTypesQuery = graphql(`
  query NotificationTypes {
    notificationTypes {
      type
      ttlSeconds
      defaultPriority
      dedupWindowSeconds
      description
    }
  }
`);

export const TemplatesQuery = graphql(`
  query Templates {
    templates {
      name
      type
      title
      body
    }
  }
`);

export const SendNotificationMutation = graphql(`
  mutation SendNotification($input: SendNotificationInput!) {
    sendNotification(input: $input) {
      notifications {
        ...NotificationFields
        recipient {
          id
        }
      }
      deduplicated
      muted
      scheduledId
    }
  }
`);

export const BroadcastMutation = graphql(`
  mutation Broadcast($input: BroadcastInput!) {
    broadcast(input: $input) {
      id
      type
      title
      createdAt
      saveOffline
      recipients
      deduplicated
      muted
    }
  }
`);

export const MarkReadMutation = graphql(`
  mutation MarkRead($ids: [ID!]!) {
    markRead(ids: $ids) {
      id
      read
      readAt
    }
  }
`);

export const MarkUnreadMutation = graphql(`
  mutation MarkUnread($ids: [ID!]!) {
    markUnread(ids: $ids) {
      id
      read
      readAt
    }
  }
`);

export const MarkAllReadMutation = graphql(`
  mutation MarkAllRead {
    markAllRead
  }
`);

export const DeleteNotificationsMutation = graphql(`
  mutation DeleteNotifications($ids: [ID!]!) {
    deleteNotifications(ids: $ids)
  }
`);

export const UpdatePreferencesMutation = graphql(`
  mutation UpdatePreferences($input: PreferencesInput!) {
    updatePreferences(input: $input) {
      mutedTypes
      channels {
        type
        channels
      }
    }
  }
`);

export const UpsertUserMutation = graphql(`
  mutation UpsertUser($id: ID!, $displayName: String, $active: Boolean) {
    upsertUser(id: $id, displayName: $displayName, active: $active) {
      id
      displayName
      active
    }
  }
`);

export const SetNotificationTypePolicyMutation = graphql(`
  mutation SetNotificationTypePolicy($type: String!, $ttlSeconds: Int!, $defaultPriority: Priority, $dedupWindowSeconds: Int, $description: String) {
    setNotificationTypePolicy(
      type: $type
      ttlSeconds: $ttlSeconds
      defaultPriority: $defaultPriority
      dedupWindowSeconds: $dedupWindowSeconds
      description: $description
    ) {
      type
      ttlSeconds
      defaultPriority
      dedupWindowSeconds
      description
    }
  }
`);

export const UpsertTemplateMutation = graphql(`
  mutation UpsertTemplate($input: TemplateInput!) {
    upsertTemplate(input: $input) {
      name
      type
      title
      body
    }
  }
`);

export const NotificationReceivedSubscription = graphql(`
  subscription NotificationReceived($after: String) {
    notificationReceived(after: $after) {
      ...NotificationFields
    }
  }
`);

export const InboxSubscription = graphql(`
  subscription Inbox($after: String) {
    inbox(after: $after) {
      notification {
        ...NotificationFields
      }
      unreadCount
      readIds
      unreadIds
      removedIds
      replayComplete
    }
  }
`);

export const UnreadCountChangedSubscription = graphql(`
  subscription UnreadCountChanged {
    unreadCountChanged
  }
`);

export const TopicSubscription = graphql(`
  subscription Topic($names: [String!]!) {
    topic(names: $names) {
      topic
      payload
      publishedAt
    }
  }
`);

export const PublishMutation = graphql(`
  mutation Publish($topic: String!, $payload: JSON!) {
    publish(topic: $topic, payload: $payload) {
      topic
      payload
      publishedAt
    }
  }
`);

export const DashboardFieldsFragment = graphql(`
  fragment DashboardFields on Dashboard {
    system {
      uptimeSeconds
      loadAverage
      memoryRssBytes
      connectedClients
      redisUsedMemoryBytes
    }
    notifications {
      sentToday
      activeUsers
      byType {
        type
        count
      }
      deduplicatedToday
    }
    cache {
      hits
      misses
      hitRate
    }
    generatedAt
  }
`);

export const DashboardQuery = graphql(`
  query Dashboard {
    dashboard {
      ...DashboardFields
    }
  }
`);

export const DashboardUpdatedSubscription = graphql(`
  subscription DashboardUpdated {
    dashboardUpdated {
      ...DashboardFields
    }
  }
`);

export const JobFieldsFragment = graphql(`
  fragment JobFields on Job {
    name
    schedule
    timezone
    lastRunAt
    lastStatus
    nextRunAt
  }
`);

export const JobsQuery = graphql(`
  query Jobs {
    jobs {
      ...JobFields
    }
  }
`);

export const RunJobMutation = graphql(`
  mutation RunJob($name: ID!) {
    runJob(name: $name) {
      ...JobFields
    }
  }
`);

export const DeliveryFieldsFragment = graphql(`
  fragment DeliveryFields on Delivery {
    id
    notificationId
    userId
    channel
    status
    attempts
    lastError
    createdAt
    nextAttemptAt
    deliveredAt
  }
`);

export const SetChannelAddressMutation = graphql(`
  mutation SetChannelAddress($userId: ID!, $input: ChannelAddressInput!) {
    setChannelAddress(userId: $userId, input: $input) {
      webhookSecret
      user {
        id
        channelAddresses {
          channel
          address
          updatedAt
        }
      }
    }
  }
`);

export const RemoveChannelAddressMutation = graphql(`
  mutation RemoveChannelAddress($userId: ID!, $channel: Channel!) {
    removeChannelAddress(userId: $userId, channel: $channel) {
      id
      channelAddresses {
        channel
        address
      }
    }
  }
`);

export const DeliveriesQuery = graphql(`
  query Deliveries($notificationId: ID!) {
    deliveries(notificationId: $notificationId) {
      ...DeliveryFields
    }
  }
`);

export const DeliveryLogQuery = graphql(`
  query DeliveryLog($first: Int, $after: String, $filter: DeliveryFilter) {
    deliveryLog(first: $first, after: $after, filter: $filter) {
      totalCount
      pageInfo {
        hasNextPage
        endCursor
      }
      edges {
        cursor
        node {
          ...DeliveryFields
        }
      }
    }
  }
`);

export const RetryDeliveryMutation = graphql(`
  mutation RetryDelivery($id: ID!) {
    retryDelivery(id: $id) {
      ...DeliveryFields
    }
  }
`);
