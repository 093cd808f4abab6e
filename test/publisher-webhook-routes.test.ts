import type { AddressInfo } from 'node:net';
import type http from 'node:http';
import express, { type RequestHandler } from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../shared/log.ts';
import { testDatabase } from './helpers/db.ts';
import { AddressPolicy } from '../shared/net-policy.ts';
import { WebhookStore } from '../publisher/webhook-store.ts';
import { webhookRoutes } from '../publisher/webhook-routes.ts';

process.env.LOG_LEVEL ??= 'error';

const TOKEN = 'test-token';
const requireAuth: RequestHandler = (req, res, next) => {
  if (req.headers.authorization !== `Bearer ${TOKEN}`) return void res.status(401).json({ error: 'unauthorized' });
  next();
};

async function serve(allowPrivateSources: boolean) {
  const store = new WebhookStore((await testDatabase('sqlite')).db);
  const app = express();
  app.use(webhookRoutes({ store, policy: new AddressPolicy({ allowPrivate: allowPrivateSources }), log: createLogger('test') }, requireAuth));
  return { store, app };
}

describe('webhook routes', () => {
  let server: http.Server;
  let base: string;
  let store: WebhookStore;
  let strictServer: http.Server;
  let strictBase: string;

  beforeAll(async () => {
    const s = await serve(true);
    store = s.store;
    server = s.app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    strictServer = (await serve(false)).app.listen(0, '127.0.0.1');
    await new Promise((r) => strictServer.once('listening', r));
    strictBase = `http://127.0.0.1:${(strictServer.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((r) => server.close(r));
    await new Promise((r) => strictServer.close(r));
  });

  const call = (method: string, path: string, body?: unknown, opts: { auth?: boolean; raw?: string; at?: string } = {}) =>
    fetch((opts.at ?? base) + path, {
      method,
      headers: {
        ...(opts.auth === false ? {} : { authorization: `Bearer ${TOKEN}` }),
        ...(body !== undefined || opts.raw !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      body: opts.raw ?? (body === undefined ? undefined : JSON.stringify(body)),
    });

  it('requires auth on every route', async () => {
    for (const [m, p] of [
      ['GET', '/api/webhooks'],
      ['POST', '/api/webhooks'],
      ['DELETE', '/api/webhooks/x'],
      ['GET', '/api/webhooks/x/deliveries'],
    ]) {
      expect((await call(m, p, undefined, { auth: false })).status).toBe(401);
    }
  });

  it('registers, lists, shows the delivery log, and deletes', async () => {
    const res = await call('POST', '/api/webhooks', { url: 'http://127.0.0.1:9/hook', events: ['event.published', 'event.ended'] });
    expect(res.status).toBe(201);
    const created = await res.json();
    expect(created).toMatchObject({ url: 'http://127.0.0.1:9/hook', events: ['event.published', 'event.ended'] });
    expect(created.id).toMatch(/^wh_/);
    expect(created.secret).toMatch(/^whsec_/);
    expect(res.headers.get('location')).toBe(`/api/webhooks/${created.id}`);

    const list = await (await call('GET', '/api/webhooks')).json();
    expect(list.webhooks).toEqual([{ id: created.id, url: created.url, events: created.events, createdAt: created.createdAt }]);
    expect(JSON.stringify(list)).not.toContain('whsec_');
    expect(JSON.stringify(await (await call('GET', `/api/webhooks/${created.id}`)).json())).not.toContain('whsec_');

    await store.createDelivery({ endpointId: created.id, eventId: 'ev_1', eventType: 'event.ended', payload: '{"type":"event.ended"}' });
    const log = await (await call('GET', `/api/webhooks/${created.id}/deliveries`)).json();
    expect(log.deliveries).toHaveLength(1);
    expect(log.deliveries[0]).toMatchObject({ eventId: 'ev_1', eventType: 'event.ended', status: 'pending', attempts: 0, payload: { type: 'event.ended' } });
    expect((await call('GET', `/api/webhooks/${created.id}/deliveries?limit=0`)).status).toBe(400);

    expect((await call('DELETE', `/api/webhooks/${created.id}`)).status).toBe(204);
    expect((await call('DELETE', `/api/webhooks/${created.id}`)).status).toBe(404);
    expect((await call('GET', `/api/webhooks/${created.id}/deliveries`)).status).toBe(404);
  });

  it.each([
    [{ url: 'http://127.0.0.1:9/h', events: [] }, 'events'],
    [{ url: 'http://127.0.0.1:9/h' }, 'events'],
    [{ url: 'http://127.0.0.1:9/h', events: ['event.started', 'event.deleted'] }, 'events'],
    [{ url: 'http://127.0.0.1:9/h', events: 'event.started' }, 'events'],
    [{ events: ['event.started'] }, 'url'],
    [{ url: 'gopher://127.0.0.1/h', events: ['event.started'] }, 'url'],
    [{ url: 'http://a:b@127.0.0.1/h', events: ['event.started'] }, 'url'],
    [[1, 2], 'body'],
  ])('answers 400 naming the bad field for %j', async (body, field) => {
    const res = await call('POST', '/api/webhooks', body);
    expect(res.status).toBe(400);
    const json = await res.json();
    expect(json.field).toBe(field);
    expect(typeof json.error).toBe('string');
  });

  it('answers 400 for invalid JSON and no body', async () => {
    const bad = await call('POST', '/api/webhooks', undefined, { raw: '{"url":' });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ field: 'body' });
    const none = await call('POST', '/api/webhooks');
    expect(none.status).toBe(400);
    expect(await none.json()).toMatchObject({ field: 'body' });
  });

  it('refuses loopback endpoints unless private sources are allowed', async () => {
    const res = await call('POST', '/api/webhooks', { url: 'http://localhost:9/hook', events: ['event.ended'] }, { at: strictBase });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ field: 'url', error: expect.stringMatching(/private address/) });
  });
});
