import type { mongo } from 'mongoose';
import type { OrganisationDocument, WebhookSinkSettings } from '../store/documents.js';

/**
 * An organisation's webhook sinks from its settings (`audit.webhooks`), cached briefly: a burst of events of
 * one organisation must not read its settings once per delivery.
 */
export class WebhookSinkDirectory {
  private readonly cache = new Map<string, { at: number; sinks: WebhookSinkSettings[] }>();

  constructor(
    private readonly organisations: mongo.Collection<OrganisationDocument>,
    private readonly cacheMs: number,
  ) {}

  async sinksOf(orgId: string): Promise<WebhookSinkSettings[]> {
    const cached = this.cache.get(orgId);
    if (cached && Date.now() - cached.at < this.cacheMs) return cached.sinks;
    const organisation = await this.organisations.findOne(
      { _id: orgId },
      { projection: { 'settings.audit.webhooks': 1 } },
    );
    const sinks = uniqueByName(organisation?.settings?.audit?.webhooks ?? []);
    this.cache.set(orgId, { at: Date.now(), sinks });
    return sinks;
  }

  async sink(orgId: string, name: string): Promise<WebhookSinkSettings | undefined> {
    return (await this.sinksOf(orgId)).find((sink) => sink.name === name);
  }
}

// Sink names key delivery records; a duplicated name would make two sinks share one record.
function uniqueByName(sinks: WebhookSinkSettings[]): WebhookSinkSettings[] {
  const seen = new Set<string>();
  return sinks.filter((sink) => {
    if (!sink?.name || !sink.url || seen.has(sink.name)) return false;
    seen.add(sink.name);
    return true;
  });
}
