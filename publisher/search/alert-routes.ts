// Saved searches over HTTP. `POST /api/alerts {query, filters?, webhookUrl?}`
// saves one (201 with its id, its feed URL and, once, its webhook's signing
// secret); `GET`/`DELETE /api/alerts/:id` read and remove it; its RSS feed is
// public at an unguessable URL. An alert belongs to the API token that made it.
import express, { Router, type RequestHandler } from 'express';
import type { EventCatalog } from '../../shared/catalog/events.ts';
import { badRequest, HttpError, notFound } from '../../shared/http.ts';
import type { Logger } from '../../shared/log.ts';
import type { AddressPolicy } from '../../shared/net-policy.ts';
import { ALERT_EVENT_TYPE, type WebhookStore } from '../webhook-store.ts';
import { validateWebhookUrl, WebhookUrlError } from '../webhooks.ts';
import { buildAlertFeed } from './alert-feed.ts';
import type { Alert, AlertStore } from './alert-store.ts';
import { timestampUrl } from './hit-json.ts';
import { parseFilters, parseQ } from './request.ts';

export interface AlertRouteDeps {
  alerts: AlertStore;
  catalog: EventCatalog;
  webhookStore: WebhookStore;
  policy: AddressPolicy;
  publicUrl: string;
  log: Logger;
}

/** Saved searches one API token may keep. */
export const MAX_ALERTS = 100;

const feedUrl = (publicUrl: string, a: Alert) => `${publicUrl}/alerts/${a.feedToken}/feed.xml`;

/** A filter's 400 names it as the body has it: `filters.host`. */
async function bodyFilters(raw: unknown, catalog: EventCatalog) {
  if (raw === undefined) return {};
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw badRequest('filters', 'filters must be an object: {host, event, from, to, status}');
  try {
    return await parseFilters(raw as Record<string, unknown>, catalog);
  } catch (e) {
    if (e instanceof HttpError && e.field) throw badRequest(`filters.${e.field}`, e.message);
    throw e;
  }
}

async function bodyWebhook(raw: unknown, policy: AddressPolicy): Promise<string | undefined> {
  if (raw === undefined || raw === null) return undefined;
  try {
    return await validateWebhookUrl(raw, policy);
  } catch (e) {
    if (e instanceof WebhookUrlError) throw badRequest('webhookUrl', e.message);
    throw e;
  }
}

export function alertRoutes(deps: AlertRouteDeps, requireAuth: RequestHandler): Router {
  const r = Router();
  r.use('/api/alerts', requireAuth);

  const view = async (a: Alert, secret?: string) => {
    const hook = a.webhookId ? await deps.webhookStore.getEndpoint(a.webhookId) : undefined;
    return {
      id: a.id,
      query: a.query,
      filters: a.filters,
      feedUrl: feedUrl(deps.publicUrl, a),
      webhook: hook ? { id: hook.id, url: hook.url, ...(secret ? { secret } : {}) } : null,
      createdAt: a.createdAt,
    };
  };

  /** The caller's own alert, or a 404 (another token's alert is not there for it). */
  const own = async (id: string, owner: string): Promise<Alert> => {
    const a = await deps.alerts.get(id);
    if (!a || a.owner !== owner) throw notFound('no such alert');
    return a;
  };

  r.post('/api/alerts', express.json({ limit: '16kb' }), async (req, res) => {
    const body: unknown = req.body;
    if (!body || typeof body !== 'object' || Array.isArray(body)) throw badRequest('body', 'expected a JSON object: {query, filters?, webhookUrl?}');
    const b = body as { query?: unknown; filters?: unknown; webhookUrl?: unknown };
    if (typeof b.query !== 'string') throw badRequest('query', 'query is required: the words to watch for');
    if (b.query.length > 500) throw badRequest('query', 'query is longer than 500 characters');
    parseQ(b.query, 'query');
    const filters = await bodyFilters(b.filters, deps.catalog);
    const url = await bodyWebhook(b.webhookUrl, deps.policy);
    const owner = String(res.locals.tokenId);
    if ((await deps.alerts.count(owner)) >= MAX_ALERTS) throw new HttpError(409, `at most ${MAX_ALERTS} alerts can be saved`);
    const hook = url ? await deps.webhookStore.createEndpoint({ url, events: [ALERT_EVENT_TYPE] }) : undefined;
    const alert = await deps.alerts.create({ owner, query: b.query, filters, webhookId: hook?.id ?? null });
    deps.log.info('alert saved', { id: alert.id, webhook: hook?.id });
    res
      .status(201)
      .location(`/api/alerts/${alert.id}`)
      .json(await view(alert, hook?.secret));
  });

  r.get('/api/alerts', async (_req, res) => {
    const list = await deps.alerts.list(String(res.locals.tokenId));
    res.json({ alerts: await Promise.all(list.map((a) => view(a))) });
  });

  r.get('/api/alerts/:id', async (req, res) => {
    const a = await own(req.params.id, String(res.locals.tokenId));
    const matches = await deps.alerts.matches(a.id, 50);
    const events = await deps.catalog.eventsById([...new Set(matches.map((m) => m.eventId))]);
    res.json({
      ...(await view(a)),
      matches: matches.map((m) => {
        const ev = events.get(m.eventId);
        return { ...m, url: ev ? timestampUrl(deps.publicUrl, ev.slug, m.startSec) : null, title: ev?.title ?? null };
      }),
    });
  });

  r.delete('/api/alerts/:id', async (req, res) => {
    const a = await own(req.params.id, String(res.locals.tokenId));
    await deps.alerts.delete(a.id);
    if (a.webhookId) await deps.webhookStore.deleteEndpoint(a.webhookId);
    deps.log.info('alert deleted', { id: a.id });
    res.status(204).end();
  });

  r.get('/alerts/:token/feed.xml', async (req, res) => {
    const token = req.params.token;
    const a = /^[A-Za-z0-9_-]{43}$/.test(token) ? await deps.alerts.byFeedToken(token) : undefined;
    if (!a) throw notFound('no such feed');
    const matches = await deps.alerts.matches(a.id, 100);
    const events = await deps.catalog.eventsById([...new Set(matches.map((m) => m.eventId))]);
    const items = matches.flatMap((m) => {
      const ev = events.get(m.eventId);
      if (!ev || ev.status === 'failed') return [];
      return [
        {
          id: m.id,
          eventTitle: ev.title,
          host: ev.host,
          startSec: m.startSec,
          text: m.text,
          url: timestampUrl(deps.publicUrl, ev.slug, m.startSec),
          matchedAt: m.matchedAt,
        },
      ];
    });
    res.type('application/rss+xml; charset=utf-8');
    res.set('Cache-Control', 'no-cache');
    res.set('Referrer-Policy', 'no-referrer');
    res.send(buildAlertFeed({ query: a.query, feedUrl: feedUrl(deps.publicUrl, a), siteUrl: deps.publicUrl, items }));
  });

  return r;
}
