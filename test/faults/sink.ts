import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SinkDelivery {
  /** `X-Scimbridge-Event-Id`. */
  headerId: string;
  /** The body's `id`. */
  bodyId: string;
  attempt: string;
  receivedAt: number;
  /** The status answered; 0 while held, -1 when the sender went away before the answer. */
  status: number;
}

/**
 * The audit webhook receiver: records every delivery (acknowledged or not) with its event id. It holds
 * each request for `holdMs` before answering 200, so deliveries are in flight when a worker is killed.
 */
export class WebhookSink {
  readonly deliveries: SinkDelivery[] = [];
  private server: Server | undefined;

  constructor(private readonly holdMs = 150) {}

  async start(): Promise<void> {
    this.server = createServer((req, res) => this.handle(req, res));
    this.server.keepAliveTimeout = 1_000;
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}/audit`;
  }

  pending(): SinkDelivery[] {
    return this.deliveries.filter((d) => d.status === 0);
  }

  /** 2xx answers that reached the sender's socket, per event id. */
  acknowledged(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const d of this.deliveries)
      if (d.status >= 200 && d.status < 300) counts.set(d.headerId, (counts.get(d.headerId) ?? 0) + 1);
    return counts;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      let bodyId = '';
      try {
        const id = (JSON.parse(body) as { id?: unknown }).id;
        bodyId = typeof id === 'string' ? id : '';
      } catch {
        bodyId = '';
      }
      const delivery: SinkDelivery = {
        headerId: String(req.headers['x-scimbridge-event-id'] ?? ''),
        bodyId,
        attempt: String(req.headers['x-scimbridge-delivery-attempt'] ?? ''),
        receivedAt: Date.now(),
        status: 0,
      };
      this.deliveries.push(delivery);
      setTimeout(() => {
        if (res.destroyed || !res.socket || res.socket.destroyed) {
          delivery.status = -1;
          return;
        }
        delivery.status = 200;
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{}');
      }, this.holdMs);
    });
  }
}
