import { commonEnv, envBoolean, envList, httpEnv, mongoEnv, redisEnv } from '@scimbridge/config';
import { hostname } from 'node:os';
import { z } from 'zod';
import { organisationPolicyEnv } from './tenancy/ownership-policy.js';

/** KUBECONFIG unset = in-cluster service account. PORT serves ops endpoints only. */
export const controllerConfigSchema = commonEnv
  .extend(httpEnv(9092).shape)
  .extend(mongoEnv.shape)
  // Token revocations are broadcast to every api replica over Redis pub/sub.
  .extend(redisEnv.shape)
  .extend({
    KUBECONFIG: z.string().min(1).optional(),
    /** Watch these namespaces only (comma-separated, a Role in each); all namespaces when unset. */
    WATCH_NAMESPACE: envList(),
    /** Shown in each ScimTenant's status, e.g. https://scim.example.com/scim/v2. */
    SCIM_BASE_URL: z.url().optional(),
    /** Which organisations each namespace may claim (tenancy/ownership-policy.ts); unset: none. */
    ORGANISATION_POLICY: organisationPolicyEnv,
    WORKERS: z.coerce.number().int().min(1).max(64).default(4),
    RESYNC_PERIOD_MS: z.coerce.number().int().min(1_000).default(600_000),
    LEADER_ELECTION: envBoolean(true),
    /** Namespace of the Lease; the chart sets POD_NAMESPACE through the downward API. */
    POD_NAMESPACE: z.string().min(1).default('default'),
    POD_NAME: z.string().min(1).default(`${hostname()}-${process.pid}`),
    LEASE_NAME: z.string().min(1).default('scim-controller-leader'),
    /** How often each tenant's status.drift is recomputed (docs/controller.md); 0 turns it off. */
    DRIFT_REPORT_INTERVAL_SECONDS: z.coerce.number().int().min(0).default(600),
    /** Documents one drift report may examine: what a reconcile's drift work costs at most. */
    DRIFT_REPORT_BUDGET: z.coerce.number().int().min(100).max(10_000_000).default(100_000),
  });
export type ControllerConfig = z.infer<typeof controllerConfigSchema>;
