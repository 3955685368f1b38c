/** Key prefix of every queue in Redis; producer and worker must agree on it. */
export const DEFAULT_QUEUE_PREFIX = 'scimbridge';

/** Queue names (docs/contracts.md "Jobs"). `auditDelivery` is internal to the worker: one job per event and sink. */
export const QueueName = {
  provisioning: 'scim-provisioning',
  audit: 'scim-audit',
  auditDelivery: 'scim-audit-delivery',
} as const;
export type QueueName = (typeof QueueName)[keyof typeof QueueName];
