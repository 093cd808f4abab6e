// A webhook receiver on loopback that keeps what reached it, and the Standard
// Webhooks signature check done independently of the code under test.
import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Hook {
  headers: http.IncomingHttpHeaders;
  body: string;
  at: number;
}

export interface WebhookReceiver {
  url: string;
  received: Hook[];
  close(): void;
}

export async function webhookReceiver(): Promise<WebhookReceiver> {
  const received: Hook[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      received.push({ headers: req.headers, body, at: Date.now() });
      res.end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`, received, close: () => server.close() };
}

/** Whether a delivery carries a valid v1 signature made with this whsec_ secret. */
export function signatureValid(h: Pick<Hook, 'headers' | 'body'>, whsec: string): boolean {
  const key = Buffer.from(whsec.replace(/^whsec_/, ''), 'base64');
  const expected = crypto
    .createHmac('sha256', key)
    .update(`${String(h.headers['webhook-id'])}.${String(h.headers['webhook-timestamp'])}.${h.body}`)
    .digest('base64');
  return String(h.headers['webhook-signature']).split(' ').includes(`v1,${expected}`);
}
