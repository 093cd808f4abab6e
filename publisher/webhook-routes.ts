// The webhook management API (all behind the caller's bearer-token middleware):
//   POST   /api/webhooks                  {url, events} -> 201 {id, url, events, secret, createdAt}
//   GET    /api/webhooks                  -> {webhooks: [{id, url, events, createdAt}]}   (no secrets)
//   GET    /api/webhooks/:id              -> {id, url, events, createdAt}
//   DELETE /api/webhooks/:id              -> 204
//   GET    /api/webhooks/:id/deliveries   -> {deliveries: [...]}   (?limit=1..500, newest first)
// Errors are {error, field?}; a bad field gives 400 naming it.
import express, { type ErrorRequestHandler, type RequestHandler, type Router } from 'express';
import type { AddressPolicy } from '../shared/net-policy.ts';
import { log as rootLog, type Logger } from '../shared/log.ts';
import {
  WEBHOOK_EVENT_TYPES,
  isAlertEndpoint,
  isWebhookEventType,
  type WebhookDelivery,
  type WebhookEndpoint,
  type WebhookEventType,
  type WebhookStore,
} from './webhook-store.ts';
import { WebhookUrlError, validateWebhookUrl } from './webhooks.ts';

export interface WebhookRoutesDeps {
  store: WebhookStore;
  policy: AddressPolicy;
  log?: Logger;
}

/** At most this many endpoints may be registered. */
export const MAX_WEBHOOKS = 100;

function publicEndpoint(e: WebhookEndpoint) {
  return { id: e.id, url: e.url, events: e.events, createdAt: e.createdAt };
}

function publicDelivery(d: WebhookDelivery) {
  let payload: unknown = d.payload;
  try {
    payload = JSON.parse(d.payload);
  } catch {
    // keep the raw text
  }
  return {
    id: d.id,
    eventId: d.eventId,
    eventType: d.eventType,
    revision: d.revision,
    status: d.status,
    attempts: d.attempts,
    lastStatusCode: d.lastStatusCode,
    lastError: d.lastError,
    lastAttemptAt: d.lastAttemptAt,
    createdAt: d.createdAt,
    deliveredAt: d.deliveredAt,
    payload,
  };
}

class FieldError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

function parseEvents(v: unknown): WebhookEventType[] {
  const allowed = WEBHOOK_EVENT_TYPES.join(', ');
  if (!Array.isArray(v) || v.length === 0) throw new FieldError('events', `events must be a non-empty array of: ${allowed}`);
  for (const e of v) {
    if (!isWebhookEventType(e)) throw new FieldError('events', `unknown event type ${JSON.stringify(e)}; allowed: ${allowed}`);
  }
  return [...new Set(v as WebhookEventType[])];
}

export function webhookRoutes(deps: WebhookRoutesDeps, requireAuth: RequestHandler): Router {
  const log = (deps.log ?? rootLog).child('webhooks');
  const r = express.Router();
  r.use('/api/webhooks', requireAuth);

  r.post('/api/webhooks', express.json({ limit: '16kb' }), async (req, res) => {
    const body: unknown = req.body;
    try {
      if (!body || typeof body !== 'object' || Array.isArray(body)) throw new FieldError('body', 'expected a JSON object body');
      const fields = body as { url?: unknown; events?: unknown };
      const events = parseEvents(fields.events);
      let url: string;
      try {
        url = await validateWebhookUrl(fields.url, deps.policy);
      } catch (err) {
        if (err instanceof WebhookUrlError) throw new FieldError('url', err.message);
        throw err;
      }
      if ((await deps.store.listEndpoints()).length >= MAX_WEBHOOKS) {
        res.status(409).json({ error: `at most ${MAX_WEBHOOKS} webhooks can be registered` });
        return;
      }
      const e = await deps.store.createEndpoint({ url, events });
      log.info('webhook registered', { id: e.id, url: e.url, events: e.events.join(',') });
      res
        .status(201)
        .location(`/api/webhooks/${e.id}`)
        .json({ ...publicEndpoint(e), secret: e.secret });
    } catch (err) {
      if (err instanceof FieldError) {
        res.status(400).json({ error: err.message, field: err.field });
        return;
      }
      throw err;
    }
  });

  r.get('/api/webhooks', async (_req, res) => {
    res.json({ webhooks: (await deps.store.listEndpoints()).map(publicEndpoint) });
  });

  /** A registered webhook (an alert's endpoint is managed through its alert). */
  const webhook = async (id: string) => {
    const e = await deps.store.getEndpoint(id);
    return e && !isAlertEndpoint(e) ? e : undefined;
  };

  r.get('/api/webhooks/:id', async (req, res) => {
    const e = await webhook(req.params.id);
    if (!e) return void res.status(404).json({ error: 'no such webhook' });
    res.json(publicEndpoint(e));
  });

  r.delete('/api/webhooks/:id', async (req, res) => {
    if (!(await webhook(req.params.id)) || !(await deps.store.deleteEndpoint(req.params.id))) return void res.status(404).json({ error: 'no such webhook' });
    log.info('webhook deleted', { id: req.params.id });
    res.status(204).end();
  });

  r.get('/api/webhooks/:id/deliveries', async (req, res) => {
    if (!(await webhook(req.params.id))) return void res.status(404).json({ error: 'no such webhook' });
    const raw = req.query.limit;
    let limit = 100;
    if (raw !== undefined) {
      limit = Number(raw);
      if (typeof raw !== 'string' || !Number.isInteger(limit) || limit < 1 || limit > 500) {
        return void res.status(400).json({ error: 'limit must be an integer from 1 to 500', field: 'limit' });
      }
    }
    res.json({ deliveries: (await deps.store.deliveries(req.params.id, limit)).map(publicDelivery) });
  });

  // Body parser errors (bad JSON, too large) on these routes answer in the same shape.
  const onError: ErrorRequestHandler = (err, _req, res, next) => {
    const status = (err as { status?: number }).status;
    if (res.headersSent || typeof status !== 'number' || status < 400 || status >= 500) return next(err);
    res.status(status).json({ error: status === 413 ? 'body too large' : 'body is not valid JSON', field: 'body' });
  };
  r.use('/api/webhooks', onError);
  return r;
}
