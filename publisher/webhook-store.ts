// Webhook endpoints and their delivery log: the publisher's own tables.
//
// A delivery's id is derived from (endpoint, event id, event type, revision):
// emitting the same logical event twice finds the row that is already there
// instead of sending a second message. The id doubles as the Standard Webhooks
// `webhook-id` header (receivers deduplicate on it) and as the BullMQ job id.
import crypto from 'node:crypto';
import type { Generated, Kysely, Selectable } from 'kysely';
import type { Db } from '../shared/db/database.ts';
import { deleteEventRows } from '../shared/db/forget.ts';

export const WEBHOOK_EVENT_TYPES = ['event.started', 'event.ended', 'event.published', 'event.updated', 'clip.ready', 'audiogram.ready'] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

export function isWebhookEventType(v: unknown): v is WebhookEventType {
  return typeof v === 'string' && (WEBHOOK_EVENT_TYPES as readonly string[]).includes(v);
}

/** Sent only to the endpoint of the saved search (alert) that matched, never to subscribed endpoints. */
export const ALERT_EVENT_TYPE = 'transcript.matched';
export type DeliveryEventType = WebhookEventType | typeof ALERT_EVENT_TYPE;

/** An alert's own endpoint: created and deleted with its alert, not listed among the webhooks. */
export const isAlertEndpoint = (e: WebhookEndpoint) => e.events.includes(ALERT_EVENT_TYPE);

export interface WebhookEndpoint {
  id: string;
  url: string;
  events: DeliveryEventType[];
  /** `whsec_` + base64 key. Shown to the user once, when the endpoint is created. */
  secret: string;
  createdAt: string;
}

export type DeliveryStatus = 'pending' | 'delivered' | 'failed';

export interface WebhookDelivery {
  /** Stable message id (`msg_…`): the `webhook-id` header and the BullMQ job id. */
  id: string;
  endpointId: string;
  eventId: string;
  eventType: DeliveryEventType;
  revision: number;
  /** The exact JSON body sent on every attempt. */
  payload: string;
  status: DeliveryStatus;
  attempts: number;
  lastStatusCode: number | null;
  lastError: string | null;
  lastAttemptAt: string | null;
  createdAt: string;
  deliveredAt: string | null;
}

interface EndpointsTable {
  id: string;
  url: string;
  events_json: string;
  secret: string;
  created_at: string;
}

interface DeliveriesTable {
  id: string;
  endpoint_id: string;
  event_id: string;
  event_type: DeliveryEventType;
  revision: number;
  payload: string;
  status: DeliveryStatus;
  attempts: Generated<number>;
  last_status_code: number | null;
  last_error: string | null;
  last_attempt_at: string | null;
  created_at: string;
  delivered_at: string | null;
}

export interface WebhookTables {
  webhooks: EndpointsTable;
  webhook_deliveries: DeliveriesTable;
}

let last = 0;
/** Creation times that increase within the process, so rows made in one millisecond keep their order. */
const now = () => new Date((last = Math.max(Date.now(), last + 1))).toISOString();

/** `whsec_` + base64 of 24 random bytes. */
export function generateSecret(): string {
  return 'whsec_' + crypto.randomBytes(24).toString('base64');
}

/** The delivery id of one logical message; the same inputs always give the same id. */
export function deliveryId(endpointId: string, eventId: string, eventType: string, revision = 0): string {
  const h = crypto
    .createHash('sha256')
    .update(JSON.stringify([endpointId, eventId, eventType, revision]))
    .digest('hex');
  return `msg_${h.slice(0, 32)}`;
}

function toEndpoint(r: Selectable<EndpointsTable>): WebhookEndpoint {
  return { id: r.id, url: r.url, events: JSON.parse(r.events_json) as DeliveryEventType[], secret: r.secret, createdAt: r.created_at };
}

function toDelivery(r: Selectable<DeliveriesTable>): WebhookDelivery {
  return {
    id: r.id,
    endpointId: r.endpoint_id,
    eventId: r.event_id,
    eventType: r.event_type,
    revision: r.revision,
    payload: r.payload,
    status: r.status,
    attempts: r.attempts,
    lastStatusCode: r.last_status_code,
    lastError: r.last_error,
    lastAttemptAt: r.last_attempt_at,
    createdAt: r.created_at,
    deliveredAt: r.delivered_at,
  };
}

export interface NewDelivery {
  endpointId: string;
  eventId: string;
  eventType: DeliveryEventType;
  revision?: number;
  payload: string;
}

export interface AttemptOutcome {
  /** delivered: a 2xx answer; pending: will be retried; failed: given up. */
  status: DeliveryStatus;
  statusCode?: number | null;
  error?: string | null;
}

export class WebhookStore {
  private readonly db: Kysely<WebhookTables>;

  constructor(db: Db) {
    this.db = db.as<WebhookTables>();
  }

  /** Forgets a deleted event: the deliveries about it (their bodies describe it). */
  async forgetEvent(eventId: string): Promise<void> {
    await deleteEventRows(this.db, ['webhook_deliveries'], eventId);
  }

  // ---- endpoints

  /** Stores a new endpoint with a fresh id and secret. The URL must have been validated. */
  async createEndpoint(e: { url: string; events: DeliveryEventType[] }): Promise<WebhookEndpoint> {
    const id = 'wh_' + crypto.randomBytes(12).toString('base64url');
    await this.db
      .insertInto('webhooks')
      .values({ id, url: e.url, events_json: JSON.stringify([...new Set(e.events)]), secret: generateSecret(), created_at: now() })
      .execute();
    return (await this.getEndpoint(id))!;
  }

  async getEndpoint(id: string): Promise<WebhookEndpoint | undefined> {
    const r = await this.db.selectFrom('webhooks').selectAll().where('id', '=', id).executeTakeFirst();
    return r ? toEndpoint(r) : undefined;
  }

  /** The registered webhooks (alerts' own endpoints are not among them). */
  async listEndpoints(): Promise<WebhookEndpoint[]> {
    return (await this.db.selectFrom('webhooks').selectAll().orderBy('created_at').orderBy('id').execute()).map(toEndpoint).filter((e) => !isAlertEndpoint(e));
  }

  async endpointsFor(eventType: WebhookEventType): Promise<WebhookEndpoint[]> {
    return (await this.listEndpoints()).filter((e) => e.events.includes(eventType));
  }

  /** Removes the endpoint and its delivery log; queued jobs for it then find nothing and end. */
  async deleteEndpoint(id: string): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('webhook_deliveries').where('endpoint_id', '=', id).execute();
      const r = await trx.deleteFrom('webhooks').where('id', '=', id).executeTakeFirst();
      return Number(r.numDeletedRows) > 0;
    });
  }

  // ---- deliveries

  /** Creates the delivery row once; a repeat returns the existing row with created=false. */
  async createDelivery(d: NewDelivery): Promise<{ delivery: WebhookDelivery; created: boolean }> {
    const id = deliveryId(d.endpointId, d.eventId, d.eventType, d.revision ?? 0);
    const r = await this.db
      .insertInto('webhook_deliveries')
      .values({
        id,
        endpoint_id: d.endpointId,
        event_id: d.eventId,
        event_type: d.eventType,
        revision: d.revision ?? 0,
        payload: d.payload,
        status: 'pending',
        last_status_code: null,
        last_error: null,
        last_attempt_at: null,
        created_at: now(),
        delivered_at: null,
      })
      .onConflict((oc) => oc.column('id').doNothing())
      .executeTakeFirst();
    return { delivery: (await this.getDelivery(id))!, created: Number(r.numInsertedOrUpdatedRows ?? 0) > 0 };
  }

  async getDelivery(id: string): Promise<WebhookDelivery | undefined> {
    const r = await this.db.selectFrom('webhook_deliveries').selectAll().where('id', '=', id).executeTakeFirst();
    return r ? toDelivery(r) : undefined;
  }

  /** The delivery log of one endpoint, newest first. */
  async deliveries(endpointId: string, limit = 100): Promise<WebhookDelivery[]> {
    const rows = await this.db
      .selectFrom('webhook_deliveries')
      .selectAll()
      .where('endpoint_id', '=', endpointId)
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .limit(limit)
      .execute();
    return rows.map(toDelivery);
  }

  async pendingDeliveries(limit = 1000): Promise<WebhookDelivery[]> {
    const rows = await this.db
      .selectFrom('webhook_deliveries')
      .selectAll()
      .where('status', '=', 'pending')
      .orderBy('created_at')
      .orderBy('id')
      .limit(limit)
      .execute();
    return rows.map(toDelivery);
  }

  /** Counts one attempt. A delivered message stays delivered whatever a late attempt reports. */
  async recordAttempt(id: string, o: AttemptOutcome): Promise<WebhookDelivery | undefined> {
    const at = now();
    await this.db
      .updateTable('webhook_deliveries')
      .set((eb) => ({
        attempts: eb('attempts', '+', 1),
        last_status_code: o.statusCode ?? null,
        last_error: o.error ?? null,
        last_attempt_at: at,
        status: eb
          .case()
          .when('status', '=', 'delivered')
          .then('delivered' as DeliveryStatus)
          .else(o.status)
          .end(),
        delivered_at: o.status === 'delivered' ? eb.fn.coalesce('delivered_at', eb.val(at)) : eb.ref('delivered_at'),
      }))
      .where('id', '=', id)
      .execute();
    return this.getDelivery(id);
  }
}
