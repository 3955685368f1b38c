import { Registry, collectDefaultMetrics } from 'prom-client';

/**
 * A dedicated registry per process with Node's default metrics (event-loop lag, heap, GC, handles),
 * labelled with the service so one dashboard can hold all three components.
 */
export function createMetricsRegistry(service: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry });
  return registry;
}
