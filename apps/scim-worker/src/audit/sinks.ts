import { EVENT_STREAM_SINK_PREFIX } from '@scimbridge/audit-delivery';
import type { mongo } from 'mongoose';
import type { EventStreamSettings, OrganisationDocument, WebhookSinkSettings } from '../store/documents.js';

export { EVENT_STREAM_SINK_PREFIX };

/**
 * One place an organisation's events go: a signed webhook (`audit.webhooks`) or an RFC 8935 push receiver of
 * RFC 9967 SETs (`audit.eventStreams`). `name` keys delivery records and dead letters: a webhook's own name, an
 * event stream's name after `events:`.
 */
export type AuditSink =
  | { kind: 'webhook'; name: string; webhook: WebhookSinkSettings }
  | { kind: 'events'; name: string; stream: EventStreamSettings };

/**
 * An organisation's sinks from its settings, cached briefly: a burst of events of one organisation must not read
 * its settings once per delivery.
 */
export class AuditSinkDirectory {
  private readonly cache = new Map<string, { at: number; sinks: AuditSink[] }>();

  constructor(
    private readonly organisations: mongo.Collection<OrganisationDocument>,
    private readonly cacheMs: number,
  ) {}

  async sinksOf(orgId: string): Promise<AuditSink[]> {
    const cached = this.cache.get(orgId);
    if (cached && Date.now() - cached.at < this.cacheMs) return cached.sinks;
    const organisation = await this.organisations.findOne(
      { _id: orgId },
      { projection: { 'settings.audit.webhooks': 1, 'settings.audit.eventStreams': 1 } },
    );
    const audit = organisation?.settings?.audit;
    // Unique across both kinds: a webhook named `events:x` (possible through scimctl) must not share the
    // delivery records of the event stream `x`; the first one listed keeps the name.
    const sinks = uniqueByName<AuditSink>([
      ...(audit?.webhooks ?? [])
        .filter((webhook) => Boolean(webhook?.url))
        .map((webhook): AuditSink => ({ kind: 'webhook', name: webhook.name, webhook })),
      ...(audit?.eventStreams ?? [])
        .filter((stream) => Boolean(stream?.name && stream.url && stream.audience))
        .map((stream): AuditSink => ({
          kind: 'events',
          name: `${EVENT_STREAM_SINK_PREFIX}${stream.name}`,
          stream,
        })),
    ]);
    this.cache.set(orgId, { at: Date.now(), sinks });
    return sinks;
  }

  async sink(orgId: string, name: string): Promise<AuditSink | undefined> {
    return (await this.sinksOf(orgId)).find((sink) => sink.name === name);
  }
}

// Sink names key delivery records; a duplicated name would make two sinks share one record.
function uniqueByName<T extends { name: string }>(sinks: T[]): T[] {
  const seen = new Set<string>();
  return sinks.filter((sink) => {
    if (!sink.name || seen.has(sink.name)) return false;
    seen.add(sink.name);
    return true;
  });
}
