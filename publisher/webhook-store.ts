// Webhook endpoints and their delivery log, in the catalog's SQLite database
// (own tables, created here on the shared handle).
//
// A delivery's id is derived from (endpoint, event id, event type, revision):
// emitting the same logical event twice finds the row that is already there
// instead of sending a second message. The id doubles as the Standard Webhooks
// `webhook-id` header (receivers deduplicate on it) and as the BullMQ job id.
import crypto from 'node:crypto';
import type Database from 'better-sqlite3';

export const WEBHOOK_EVENT_TYPES = ['event.started', 'event.ended', 'event.published', 'event.updated'] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

export function isWebhookEventType(v: unknown): v is WebhookEventType {
  return typeof v === 'string' && (WEBHOOK_EVENT_TYPES as readonly string[]).includes(v);
}

export interface WebhookEndpoint {
  id: string;
  url: string;
  events: WebhookEventType[];
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
  eventType: WebhookEventType;
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

const SCHEMA = `
CREATE TABLE IF NOT EXISTS webhooks (
  id TEXT PRIMARY KEY,
  url TEXT NOT NULL,
  events_json TEXT NOT NULL,
  secret TEXT NOT NULL,
  created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS webhook_deliveries (
  id TEXT PRIMARY KEY,
  endpoint_id TEXT NOT NULL,
  event_id TEXT NOT NULL,
  event_type TEXT NOT NULL,
  revision INTEGER NOT NULL,
  payload TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
  attempts INTEGER NOT NULL DEFAULT 0,
  last_status_code INTEGER,
  last_error TEXT,
  last_attempt_at TEXT,
  created_at TEXT NOT NULL,
  delivered_at TEXT
);
CREATE INDEX IF NOT EXISTS webhook_deliveries_by_endpoint ON webhook_deliveries (endpoint_id, created_at);
CREATE INDEX IF NOT EXISTS webhook_deliveries_pending ON webhook_deliveries (status) WHERE status = 'pending';
`;

const now = () => new Date().toISOString();

/** `whsec_` + base64 of 24 random bytes. */
export function generateSecret(): string {
  return 'whsec_' + crypto.randomBytes(24).toString('base64');
}

/** The delivery id of one logical message; the same inputs always give the same id. */
export function deliveryId(endpointId: string, eventId: string, eventType: string, revision = 0): string {
  const h = crypto.createHash('sha256').update(JSON.stringify([endpointId, eventId, eventType, revision])).digest('hex');
  return `msg_${h.slice(0, 32)}`;
}

function toEndpoint(r: any): WebhookEndpoint {
  return { id: r.id, url: r.url, events: JSON.parse(r.events_json), secret: r.secret, createdAt: r.created_at };
}

function toDelivery(r: any): WebhookDelivery {
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
  eventType: WebhookEventType;
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
  constructor(readonly db: Database.Database) {
    db.exec(SCHEMA);
  }

  // ---- endpoints

  /** Stores a new endpoint with a fresh id and secret. The URL must have been validated. */
  createEndpoint(e: { url: string; events: WebhookEventType[] }): WebhookEndpoint {
    const id = 'wh_' + crypto.randomBytes(12).toString('base64url');
    this.db
      .prepare('INSERT INTO webhooks (id, url, events_json, secret, created_at) VALUES (?, ?, ?, ?, ?)')
      .run(id, e.url, JSON.stringify([...new Set(e.events)]), generateSecret(), now());
    return this.getEndpoint(id)!;
  }

  getEndpoint(id: string): WebhookEndpoint | undefined {
    const r = this.db.prepare('SELECT * FROM webhooks WHERE id = ?').get(id);
    return r ? toEndpoint(r) : undefined;
  }

  listEndpoints(): WebhookEndpoint[] {
    return this.db.prepare('SELECT * FROM webhooks ORDER BY created_at, rowid').all().map(toEndpoint);
  }

  endpointsFor(eventType: WebhookEventType): WebhookEndpoint[] {
    return this.listEndpoints().filter((e) => e.events.includes(eventType));
  }

  /** Removes the endpoint and its delivery log; queued jobs for it then find nothing and end. */
  deleteEndpoint(id: string): boolean {
    return this.db.transaction(() => {
      this.db.prepare('DELETE FROM webhook_deliveries WHERE endpoint_id = ?').run(id);
      return this.db.prepare('DELETE FROM webhooks WHERE id = ?').run(id).changes > 0;
    })();
  }

  // ---- deliveries

  /** Creates the delivery row once; a repeat returns the existing row with created=false. */
  createDelivery(d: NewDelivery): { delivery: WebhookDelivery; created: boolean } {
    const id = deliveryId(d.endpointId, d.eventId, d.eventType, d.revision ?? 0);
    const r = this.db
      .prepare(
        `INSERT OR IGNORE INTO webhook_deliveries (id, endpoint_id, event_id, event_type, revision, payload, status, created_at)
         VALUES (?, ?, ?, ?, ?, ?, 'pending', ?)`,
      )
      .run(id, d.endpointId, d.eventId, d.eventType, d.revision ?? 0, d.payload, now());
    return { delivery: this.getDelivery(id)!, created: r.changes > 0 };
  }

  getDelivery(id: string): WebhookDelivery | undefined {
    const r = this.db.prepare('SELECT * FROM webhook_deliveries WHERE id = ?').get(id);
    return r ? toDelivery(r) : undefined;
  }

  /** The delivery log of one endpoint, newest first. */
  deliveries(endpointId: string, limit = 100): WebhookDelivery[] {
    return this.db
      .prepare('SELECT * FROM webhook_deliveries WHERE endpoint_id = ? ORDER BY created_at DESC, rowid DESC LIMIT ?')
      .all(endpointId, limit)
      .map(toDelivery);
  }

  pendingDeliveries(limit = 1000): WebhookDelivery[] {
    return this.db
      .prepare(`SELECT * FROM webhook_deliveries WHERE status = 'pending' ORDER BY created_at, rowid LIMIT ?`)
      .all(limit)
      .map(toDelivery);
  }

  /** Counts one attempt. A delivered message stays delivered whatever a late attempt reports. */
  recordAttempt(id: string, o: AttemptOutcome): WebhookDelivery | undefined {
    const at = now();
    this.db
      .prepare(
        `UPDATE webhook_deliveries SET
           attempts = attempts + 1,
           last_status_code = ?,
           last_error = ?,
           last_attempt_at = ?,
           status = CASE WHEN status = 'delivered' THEN status ELSE ? END,
           delivered_at = CASE WHEN ? = 'delivered' THEN COALESCE(delivered_at, ?) ELSE delivered_at END
         WHERE id = ?`,
      )
      .run(o.statusCode ?? null, o.error ?? null, at, o.status, o.status, at, id);
    return this.getDelivery(id);
  }
}
