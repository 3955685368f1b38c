export { startController, type Controller, type ControllerOptions } from './controller.js';
export * from './api/scim-tenant.js';
export type { TenantBackend } from './tenancy/backend.js';
export { TenancyBackend } from './tenancy/tenancy-backend.js';
export { OwnershipPolicy, type OwnershipRule } from './tenancy/ownership-policy.js';
