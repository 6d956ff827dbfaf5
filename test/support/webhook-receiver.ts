/**
 * A tiny local HTTP server standing in for a customer's systems: it collects the events POSTed to `/events` (raw
 * body and headers, so signatures can be checked) and serves a "done" page at `/done` for the browser's returnUrl.
 */
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { WebhookHeaders } from '../../src/webhooks/signature.js';
import type { ProvisioningEvent } from '../../src/contract/webhook-events.js';

export interface ReceivedEvent {
  body: string;
  headers: IncomingHttpHeaders & Partial<WebhookHeaders>;
  event: ProvisioningEvent;
  receivedAt: number;
}

export interface WebhookReceiver {
  url: string;
  eventsUrl: string;
  doneUrl: string;
  received: ReceivedEvent[];
  /** Answers each event this much later from now on (a slow customer endpoint). */
  answerAfter(ms: number): void;
  /** Events of one workflow (and type), in arrival order. */
  eventsFor(workflowId: string, type?: string): ReceivedEvent[];
  /** Resolves with the first event of this type for this workflow. */
  waitFor(workflowId: string, type: string, timeoutMs?: number): Promise<ReceivedEvent>;
  close(): Promise<void>;
}

export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const received: ReceivedEvent[] = [];
  let answerAfterMs = 0;
  const server = createServer((req, res) => {
    if (req.method === 'POST' && req.url === '/events') {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        try {
          received.push({
            body,
            headers: req.headers,
            event: JSON.parse(body) as ProvisioningEvent,
            receivedAt: Date.now(),
          });
          setTimeout(() => res.writeHead(204).end(), answerAfterMs);
        } catch {
          res.writeHead(400).end('not JSON');
        }
      });
      return;
    }
    if (req.method === 'GET' && req.url?.startsWith('/done')) {
      res
        .writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
        .end(
          '<!DOCTYPE html><html><head><title>All done</title></head><body><h1 id="done">All done: your account is connected.</h1></body></html>',
        );
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const eventsFor = (workflowId: string, type?: string) =>
    received.filter((r) => r.event.data.workflowId === workflowId && (!type || r.event.type === type));

  return {
    url,
    eventsUrl: `${url}/events`,
    doneUrl: `${url}/done`,
    received,
    answerAfter: (ms) => (answerAfterMs = ms),
    eventsFor,
    async waitFor(workflowId, type, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = eventsFor(workflowId, type)[0];
        if (found) return found;
        if (Date.now() > deadline) {
          const seen = eventsFor(workflowId).map((r) => r.event.type);
          throw new Error(
            `no ${type} event for ${workflowId} within ${timeoutMs} ms (saw: ${seen.join(', ') || 'none'})`,
          );
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
