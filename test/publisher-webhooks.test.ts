import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { UnrecoverableError } from 'bullmq';
import { createLogger } from '../shared/log.ts';
import { DIALECTS, testDatabase } from './helpers/db.ts';
import { AddressPolicy } from '../shared/net-policy.ts';
import { WebhookStore, deliveryId, generateSecret } from '../publisher/webhook-store.ts';
import {
  deliver,
  emit,
  processWebhook,
  requeuePending,
  sign,
  signatureHeaders,
  validateWebhookUrl,
  verify,
  webhookJobOptions,
  type EmitDeps,
} from '../publisher/webhooks.ts';

process.env.LOG_LEVEL ??= 'error';
const log = createLogger('test');

describe('signing', () => {
  it('matches the Standard Webhooks reference vector', () => {
    expect(sign('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'msg_p5jXN8AQM9LWM0D4loKWxJek', 1614265330, '{"test": 2432232314}')).toBe(
      'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
    );
  });

  it('generates whsec_ secrets of 24 random bytes', () => {
    const s = generateSecret();
    expect(s).toMatch(/^whsec_[A-Za-z0-9+/]{32}$/);
    expect(Buffer.from(s.slice(6), 'base64')).toHaveLength(24);
    expect(generateSecret()).not.toBe(s);
  });

  it('verifies within tolerance, in any header casing, and refuses tampering', () => {
    const secret = generateSecret();
    const body = '{"type":"event.ended","data":{"id":"ev_1"}}';
    const now = new Date('2030-01-01T00:00:00Z');
    const h = signatureHeaders(secret, 'msg_1', body, now);
    expect(h['webhook-timestamp']).toBe(String(now.getTime() / 1000));
    expect(verify(secret, body, h, { now })).toBe(true);
    expect(verify(secret, Buffer.from(body), new Headers(h), { now })).toBe(true);
    expect(
      verify(
        secret,
        body,
        { 'Webhook-Id': h['webhook-id'], 'Webhook-Timestamp': h['webhook-timestamp'], 'Webhook-Signature': h['webhook-signature'] },
        { now },
      ),
    ).toBe(true);
    expect(verify(secret, body + ' ', h, { now })).toBe(false);
    expect(verify(generateSecret(), body, h, { now })).toBe(false);
    expect(verify(secret, body, { ...h, 'webhook-id': 'msg_2' }, { now })).toBe(false);
    expect(verify(secret, body, h, { now: new Date(now.getTime() + 301_000) })).toBe(false);
    expect(verify(secret, body, h, { now: new Date(now.getTime() - 301_000) })).toBe(false);
    expect(verify(secret, body, h, { now: new Date(now.getTime() + 301_000), toleranceSec: 600 })).toBe(true);
    // several signatures (key rotation): one valid is enough
    expect(verify(secret, body, { ...h, 'webhook-signature': `v1,AAAA ${h['webhook-signature']}` }, { now })).toBe(true);
    expect(verify(secret, body, { ...h, 'webhook-signature': h['webhook-signature'].replace('v1,', 'v2,') }, { now })).toBe(false);
    expect(verify(secret, body, { 'webhook-id': 'msg_1' }, { now })).toBe(false);
    expect(verify(secret, body, { ...h, 'webhook-timestamp': '1e9' }, { now })).toBe(false);
  });
});

const strict = new AddressPolicy({ allowPrivate: false });
const open = new AddressPolicy({ allowPrivate: true });

describe('endpoint URLs', () => {
  it('accepts http(s) URLs and normalizes them', async () => {
    expect(await validateWebhookUrl('https://93.184.216.34/hook#frag', strict)).toBe('https://93.184.216.34/hook');
    expect(await validateWebhookUrl('http://127.0.0.1:9/x', open)).toBe('http://127.0.0.1:9/x');
  });

  it.each([
    ['ftp://93.184.216.34/x', /http or https/],
    ['file:///etc/passwd', /http or https/],
    ['https://user:pw@93.184.216.34/x', /credentials/],
    ['not a url', /valid absolute URL/],
    ['', /required/],
    ['http://127.0.0.1/x', /private address/],
    ['http://localhost:8080/x', /private address/],
    ['http://[::1]/x', /private address/],
    ['http://[::ffff:127.0.0.1]/x', /private address/],
    ['http://169.254.169.254/latest/meta-data', /private address/],
    ['http://10.1.2.3/x', /private address/],
    ['http://0x7f.1/x', /private address/],
    ['http://2130706433/x', /private address/],
  ])('refuses %s', async (url, message) => {
    await expect(validateWebhookUrl(url, strict)).rejects.toThrow(message);
  });

  it('refuses a non-string', async () => {
    await expect(validateWebhookUrl(42, strict)).rejects.toThrow(/required/);
  });
});

describe.each(DIALECTS)('store on %s', (dialect) => {
  it('creates a delivery once per (endpoint, event, type, revision)', async () => {
    const t = await testDatabase(dialect);
    const store = new WebhookStore(t.db);
    const e = await store.createEndpoint({ url: 'https://example.com/h', events: ['event.ended', 'event.ended'] });
    expect(e.events).toEqual(['event.ended']);
    const a = await store.createDelivery({ endpointId: e.id, eventId: 'ev_1', eventType: 'event.ended', payload: '{"a":1}' });
    const b = await store.createDelivery({ endpointId: e.id, eventId: 'ev_1', eventType: 'event.ended', payload: '{"a":2}' });
    expect(a.created).toBe(true);
    expect(b.created).toBe(false);
    expect(b.delivery.id).toBe(a.delivery.id);
    expect(b.delivery.payload).toBe('{"a":1}');
    expect(a.delivery.id).toBe(deliveryId(e.id, 'ev_1', 'event.ended', 0));
    const c = await store.createDelivery({ endpointId: e.id, eventId: 'ev_1', eventType: 'event.ended', revision: 1, payload: '{}' });
    expect(c.created).toBe(true);
    expect(c.delivery.id).not.toBe(a.delivery.id);
    expect(await store.deliveries(e.id)).toHaveLength(2);
    expect(await store.recordAttempt(a.delivery.id, { status: 'delivered', statusCode: 204 })).toMatchObject({ status: 'delivered', attempts: 1 });
    // a late failure report does not undo a delivery
    expect(await store.recordAttempt(a.delivery.id, { status: 'pending', statusCode: 500, error: 'x' })).toMatchObject({ status: 'delivered', attempts: 2 });
    expect(await store.deleteEndpoint(e.id)).toBe(true);
    expect(await store.getDelivery(a.delivery.id)).toBeUndefined();
    expect(await store.deleteEndpoint(e.id)).toBe(false);
    await t.close();
  });
});

// ---- delivery against a real local HTTP server

interface Received {
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

describe('deliver', () => {
  let server: http.Server;
  let base: string;
  const received: Received[] = [];
  let respond: (req: http.IncomingMessage, res: http.ServerResponse) => void = (_q, s) => void s.writeHead(204).end();

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        received.push({ path: req.url!, headers: req.headers, body });
        respond(req, res);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });
  beforeEach(() => {
    received.length = 0;
    respond = (_q, s) => void s.writeHead(204).end();
  });

  async function setup(url: string, allowPrivateSources = true) {
    const store = new WebhookStore((await testDatabase('sqlite')).db);
    const endpoint = await store.createEndpoint({ url, events: ['event.published'] });
    const { delivery } = await store.createDelivery({
      endpointId: endpoint.id,
      eventId: 'ev_1',
      eventType: 'event.published',
      payload: JSON.stringify({ type: 'event.published', timestamp: '2030-01-01T00:00:00.000Z', data: { id: 'ev_1', title: 'Ünïcode <&>' } }),
    });
    return { store, endpoint, delivery, deps: { store, policy: new AddressPolicy({ allowPrivate: allowPrivateSources }), log, timeoutMs: 500 } };
  }

  it('POSTs the signed JSON body and records the delivery', async () => {
    const { endpoint, delivery, deps, store } = await setup(`${base}/hook?x=1`);
    const done = await deliver(delivery.id, deps);
    expect(done).toMatchObject({ status: 'delivered', attempts: 1, lastStatusCode: 204, lastError: null });
    expect(done!.deliveredAt).toBeTruthy();
    expect(received).toHaveLength(1);
    const [r] = received;
    expect(r.path).toBe('/hook?x=1');
    expect(r.body).toBe(delivery.payload);
    expect(r.headers['content-type']).toBe('application/json');
    expect(r.headers['webhook-id']).toBe(delivery.id);
    expect(Number(r.headers['webhook-timestamp'])).toBeCloseTo(Date.now() / 1000, -1);
    expect(verify(endpoint.secret, r.body, r.headers)).toBe(true);
    // delivered: a repeated job does nothing
    await processWebhook({ id: '1', data: { deliveryId: delivery.id }, attemptsMade: 0, opts: { attempts: 10 } }, deps);
    expect(received).toHaveLength(1);
    expect((await store.getDelivery(delivery.id))!.attempts).toBe(1);
  });

  it('throws on a non-2xx answer so the queue retries, and fails on the last attempt', async () => {
    respond = (_q, s) => void s.writeHead(500).end('oops');
    const { delivery, deps, store } = await setup(`${base}/hook`);
    await expect(processWebhook({ id: '1', data: { deliveryId: delivery.id }, attemptsMade: 0, opts: { attempts: 2 } }, deps)).rejects.toThrow(/HTTP 500/);
    expect(await store.getDelivery(delivery.id)).toMatchObject({
      status: 'pending',
      attempts: 1,
      lastStatusCode: 500,
      lastError: 'endpoint answered HTTP 500',
    });
    await expect(processWebhook({ id: '1', data: { deliveryId: delivery.id }, attemptsMade: 1, opts: { attempts: 2 } }, deps)).rejects.toThrow(/HTTP 500/);
    expect(await store.getDelivery(delivery.id)).toMatchObject({ status: 'failed', attempts: 2 });
    expect(received.map((r) => r.headers['webhook-id'])).toEqual([delivery.id, delivery.id]);
  });

  it('does not follow redirects', async () => {
    respond = (_q, s) => void s.writeHead(302, { location: `${base}/elsewhere` }).end();
    const { delivery, deps } = await setup(`${base}/hook`);
    await expect(deliver(delivery.id, deps)).rejects.toThrow(/HTTP 302/);
    expect(received.map((r) => r.path)).toEqual(['/hook']);
  });

  it('times out a silent endpoint', async () => {
    respond = () => {}; // never answers
    const { delivery, deps, store } = await setup(`${base}/hook`);
    const t0 = Date.now();
    await expect(deliver(delivery.id, { ...deps, timeoutMs: 300 })).rejects.toThrow(/timed out/);
    expect(Date.now() - t0).toBeLessThan(2000);
    expect((await store.getDelivery(delivery.id))!.lastError).toMatch(/timed out after 300 ms/);
  });

  it('records a connection error', async () => {
    const { delivery, deps, store } = await setup('http://127.0.0.1:1/hook');
    await expect(deliver(delivery.id, deps)).rejects.toThrow(/ECONNREFUSED/);
    expect(await store.getDelivery(delivery.id)).toMatchObject({ status: 'pending', lastStatusCode: null });
  });

  it('refuses private addresses at connect time without retrying (IP literal and resolved name)', async () => {
    const port = (server.address() as AddressInfo).port;
    for (const url of [`${base}/hook`, `http://localhost:${port}/hook`]) {
      const { delivery, deps, store } = await setup(url, false);
      const err = await deliver(delivery.id, deps).catch((e) => e);
      expect(err).toBeInstanceOf(UnrecoverableError);
      expect(await store.getDelivery(delivery.id)).toMatchObject({ status: 'failed', attempts: 1 });
      expect((await store.getDelivery(delivery.id))!.lastError).toMatch(/private address/);
    }
    expect(received).toHaveLength(0);
  });

  it('ends quietly when the job is invalid or its subject is gone', async () => {
    const { delivery, deps, store, endpoint } = await setup(`${base}/hook`);
    await processWebhook({ id: '1', data: {} as any, attemptsMade: 0, opts: {} }, deps);
    await processWebhook({ id: '1', data: { deliveryId: 'msg_missing' }, attemptsMade: 0, opts: {} }, deps);
    await store.deleteEndpoint(endpoint.id);
    await processWebhook({ id: '1', data: { deliveryId: delivery.id }, attemptsMade: 0, opts: {} }, deps);
    expect(await deliver(delivery.id, deps)).toBeUndefined();
    expect(received).toHaveLength(0);
  });
});

describe('emit', () => {
  function fakeQueue() {
    const added: { name: string; data: { deliveryId: string }; opts: any }[] = [];
    let fail = false;
    return {
      added,
      setFail(v: boolean) {
        fail = v;
      },
      queue: {
        add(name: string, data: { deliveryId: string }, opts?: any) {
          if (fail) return Promise.reject(new Error('redis away'));
          added.push({ name, data, opts });
          return Promise.resolve({} as any);
        },
      },
    };
  }

  it('creates one delivery per subscribed endpoint, idempotently, and enqueues it', async () => {
    const store = new WebhookStore((await testDatabase('sqlite')).db);
    const a = await store.createEndpoint({ url: 'https://a.example/h', events: ['event.published', 'event.ended'] });
    const b = await store.createEndpoint({ url: 'https://b.example/h', events: ['event.published'] });
    await store.createEndpoint({ url: 'https://c.example/h', events: ['event.started'] });
    const q = fakeQueue();
    const deps: EmitDeps = { store, queue: q.queue as any, log, now: () => new Date('2030-01-01T00:00:00Z') };

    const first = await emit('event.published', { id: 'ev_1', title: 'T' }, deps);
    expect(first.map((r) => r.endpointId)).toEqual([a.id, b.id]);
    expect(first.every((r) => r.created && r.enqueued)).toBe(true);
    expect(q.added).toHaveLength(2);
    expect(q.added[0]).toMatchObject({
      data: { deliveryId: first[0].deliveryId },
      opts: { jobId: first[0].deliveryId, attempts: webhookJobOptions.attempts, backoff: { type: 'exponential' } },
    });
    const d = (await store.getDelivery(first[0].deliveryId))!;
    expect(JSON.parse(d.payload)).toEqual({ type: 'event.published', timestamp: '2030-01-01T00:00:00.000Z', data: { id: 'ev_1', title: 'T' } });

    const again = await emit('event.published', { id: 'ev_1', title: 'changed' }, deps);
    expect(again.map((r) => r.deliveryId)).toEqual(first.map((r) => r.deliveryId));
    expect(again.every((r) => !r.created)).toBe(true);
    expect(JSON.parse((await store.getDelivery(first[0].deliveryId))!.payload).data.title).toBe('T');

    // delivered ones are not queued again; a new revision is a new message
    await store.recordAttempt(first[0].deliveryId, { status: 'delivered', statusCode: 200 });
    q.added.length = 0;
    await emit('event.published', { id: 'ev_1' }, deps);
    expect(q.added.map((x) => x.data.deliveryId)).toEqual([first[1].deliveryId]);
    const rev = await emit('event.published', { id: 'ev_1' }, deps, { revision: 1 });
    expect(rev.every((r) => r.created)).toBe(true);

    expect(await emit('event.updated', { id: 'ev_1' }, deps)).toEqual([]);
    await expect(emit('event.bogus' as any, { id: 'ev_1' }, deps)).rejects.toThrow(/unknown webhook event type/);
    await expect(emit('event.ended', {} as any, deps)).rejects.toThrow(/needs an id/);
  });

  it('keeps the delivery pending when the queue is away, and requeues it later', async () => {
    const store = new WebhookStore((await testDatabase('sqlite')).db);
    await store.createEndpoint({ url: 'https://a.example/h', events: ['event.ended'] });
    const q = fakeQueue();
    const deps: EmitDeps = { store, queue: q.queue as any, log };
    q.setFail(true);
    const [r] = await emit('event.ended', { id: 'ev_2' }, deps);
    expect(r).toMatchObject({ created: true, enqueued: false });
    expect((await store.getDelivery(r.deliveryId))!.status).toBe('pending');
    q.setFail(false);
    expect(await requeuePending(deps)).toBe(1);
    expect(q.added.map((x) => x.opts.jobId)).toEqual([r.deliveryId]);
  });
});
