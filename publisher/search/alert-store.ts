// Saved searches (alerts) and what they matched: the publisher's tables.
//
//   search_alerts         a query and its filters, its owner (the API token's
//                         fingerprint), its webhook endpoint if it has one,
//                         and the unguessable token of its RSS feed
//   search_alert_matches  one row per (alert, event, segment start): a match
//                         is recorded once, however often its segment is
//                         indexed again, so it is announced once
import crypto from 'node:crypto';
import type { Kysely, Selectable } from 'kysely';
import type { Db } from '../../shared/db/database.ts';
import type { Migrations } from '../../shared/db/migrate.ts';
import type { SearchFilters } from './filters.ts';
import { deleteEventRows } from '../../shared/db/forget.ts';

interface AlertsTable {
  id: string;
  owner: string;
  query: string;
  filters_json: string;
  webhook_id: string | null;
  feed_token: string;
  created_at: string;
}

interface MatchesTable {
  id: string;
  alert_id: string;
  event_id: string;
  start_sec: number;
  end_sec: number;
  text: string;
  matched_at: string;
}

export interface AlertTables {
  search_alerts: AlertsTable;
  search_alert_matches: MatchesTable;
}

export interface Alert {
  id: string;
  owner: string;
  query: string;
  filters: SearchFilters;
  webhookId: string | null;
  feedToken: string;
  createdAt: string;
}

export interface AlertMatch {
  id: string;
  alertId: string;
  eventId: string;
  startSec: number;
  endSec: number;
  text: string;
  matchedAt: string;
}

const toAlert = (r: Selectable<AlertsTable>): Alert => ({
  id: r.id,
  owner: r.owner,
  query: r.query,
  filters: JSON.parse(r.filters_json) as SearchFilters,
  webhookId: r.webhook_id,
  feedToken: r.feed_token,
  createdAt: r.created_at,
});

const toMatch = (r: Selectable<MatchesTable>): AlertMatch => ({
  id: r.id,
  alertId: r.alert_id,
  eventId: r.event_id,
  startSec: r.start_sec,
  endSec: r.end_sec,
  text: r.text,
  matchedAt: r.matched_at,
});

/** A match's identity: the alert, the event and the segment's start to the millisecond. */
export function matchId(alertId: string, eventId: string, startSec: number): string {
  const h = crypto
    .createHash('sha256')
    .update(JSON.stringify([alertId, eventId, Math.round(startSec * 1000)]))
    .digest('hex');
  return `am_${h.slice(0, 24)}`;
}

export const alertMigrations: Migrations = {
  '2026-12-03-search-alerts-1': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('search_alerts')
        .ifNotExists()
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('owner', 'text', (c) => c.notNull())
        .addColumn('query', 'text', (c) => c.notNull())
        .addColumn('filters_json', 'text', (c) => c.notNull())
        .addColumn('webhook_id', 'text')
        .addColumn('feed_token', 'text', (c) => c.notNull().unique())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('search_alert_matches')
        .ifNotExists()
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('alert_id', 'text', (c) => c.notNull())
        .addColumn('event_id', 'text', (c) => c.notNull())
        .addColumn('start_sec', 'double precision', (c) => c.notNull())
        .addColumn('end_sec', 'double precision', (c) => c.notNull())
        .addColumn('text', 'text', (c) => c.notNull())
        .addColumn('matched_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('search_alert_matches_by_alert').ifNotExists().on('search_alert_matches').columns(['alert_id', 'matched_at']).execute();
    },
  },
};

let last = 0;
/** Times that increase within the process, so matches made in one millisecond keep their order. */
const now = () => new Date((last = Math.max(Date.now(), last + 1))).toISOString();

export class AlertStore {
  private readonly db: Kysely<AlertTables>;

  constructor(db: Db) {
    this.db = db.as<AlertTables>();
  }

  /** Forgets a deleted event: the alert matches in it (the feeds list them). */
  async forgetEvent(eventId: string): Promise<void> {
    await deleteEventRows(this.db, ['search_alert_matches'], eventId);
  }

  async create(a: { owner: string; query: string; filters: SearchFilters; webhookId: string | null }): Promise<Alert> {
    const row: AlertsTable = {
      id: 'al_' + crypto.randomBytes(12).toString('base64url'),
      owner: a.owner,
      query: a.query,
      filters_json: JSON.stringify(a.filters),
      webhook_id: a.webhookId,
      // The feed's URL is its only key: 32 random bytes.
      feed_token: crypto.randomBytes(32).toString('base64url'),
      created_at: new Date().toISOString(),
    };
    await this.db.insertInto('search_alerts').values(row).execute();
    return toAlert(row);
  }

  async get(id: string): Promise<Alert | undefined> {
    const r = await this.db.selectFrom('search_alerts').selectAll().where('id', '=', id).executeTakeFirst();
    return r ? toAlert(r) : undefined;
  }

  async byFeedToken(token: string): Promise<Alert | undefined> {
    const r = await this.db.selectFrom('search_alerts').selectAll().where('feed_token', '=', token).executeTakeFirst();
    return r ? toAlert(r) : undefined;
  }

  async list(owner?: string): Promise<Alert[]> {
    let q = this.db.selectFrom('search_alerts').selectAll().orderBy('created_at').orderBy('id');
    if (owner !== undefined) q = q.where('owner', '=', owner);
    return (await q.execute()).map(toAlert);
  }

  async count(owner: string): Promise<number> {
    const r = await this.db
      .selectFrom('search_alerts')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('owner', '=', owner)
      .executeTakeFirstOrThrow();
    return Number(r.n);
  }

  /** Removes the alert and its matches. */
  async delete(id: string): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('search_alert_matches').where('alert_id', '=', id).execute();
      const r = await trx.deleteFrom('search_alerts').where('id', '=', id).executeTakeFirst();
      return Number(r.numDeletedRows) > 0;
    });
  }

  /** Records a match once; false when it was recorded before. */
  async addMatch(m: Omit<AlertMatch, 'id' | 'matchedAt'>): Promise<AlertMatch | undefined> {
    const row: MatchesTable = {
      id: matchId(m.alertId, m.eventId, m.startSec),
      alert_id: m.alertId,
      event_id: m.eventId,
      start_sec: m.startSec,
      end_sec: m.endSec,
      text: m.text,
      matched_at: now(),
    };
    const r = await this.db
      .insertInto('search_alert_matches')
      .values(row)
      .onConflict((oc) => oc.column('id').doNothing())
      .executeTakeFirst();
    return Number(r.numInsertedOrUpdatedRows ?? 0) > 0 ? toMatch(row) : undefined;
  }

  /** The newest matches first. */
  async matches(alertId: string, limit = 100): Promise<AlertMatch[]> {
    const rows = await this.db
      .selectFrom('search_alert_matches')
      .selectAll()
      .where('alert_id', '=', alertId)
      .orderBy('matched_at', 'desc')
      .orderBy('id', 'desc')
      .limit(limit)
      .execute();
    return rows.map(toMatch);
  }
}
