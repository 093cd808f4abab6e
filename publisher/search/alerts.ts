// Alerts: every saved search looks at the segments just indexed (within
// seconds of their window being transcribed, while the event is live).
// Each new match is recorded once, appears in the alert's feed, and, when
// the alert has a webhook, is sent as a signed `transcript.matched` message.
import type { EventRow } from '../../shared/catalog/events.ts';
import type { Logger } from '../../shared/log.ts';
import { metrics } from '../../shared/metrics.ts';
import { emitMatch, type EmitDeps } from '../webhooks.ts';
import type { AlertStore } from './alert-store.ts';
import { timestampUrl } from './hit-json.ts';
import type { WrittenRows } from './index-writer.ts';
import { parseQuery } from './query.ts';
import type { SearchEngine } from './search.ts';

export interface AlertDeps {
  alerts: AlertStore;
  engine: SearchEngine;
  webhooks: EmitDeps;
  publicUrl: string;
  log: Logger;
}

/** Checks the rows just written against every alert; returns how many new matches were announced. */
export async function checkAlerts(ev: EventRow, rows: WrittenRows, deps: AlertDeps): Promise<number> {
  if (rows.firstId === null || rows.lastId === null) return 0;
  let announced = 0;
  for (const alert of await deps.alerts.list()) {
    const hits = await deps.engine.matchRows(parseQuery(alert.query), alert.filters, rows.firstId, rows.lastId);
    for (const hit of hits) {
      const match = await deps.alerts.addMatch({ alertId: alert.id, eventId: hit.eventId, startSec: hit.startSec, endSec: hit.endSec, text: hit.text });
      if (!match) continue;
      announced++;
      metrics.alertMatches.inc();
      deps.log.info('alert matched', { alert: alert.id, event: ev.id, startSec: hit.startSec });
      if (!alert.webhookId) continue;
      const data = {
        id: ev.id,
        alert: { id: alert.id, query: alert.query },
        match: { id: match.id, startSec: match.startSec, endSec: match.endSec, text: match.text, url: timestampUrl(deps.publicUrl, ev.slug, match.startSec) },
        event: { id: ev.id, slug: ev.slug, title: ev.title, host: ev.host, status: ev.status, createdAt: ev.createdAt },
      };
      await emitMatch(alert.webhookId, match.id, data, deps.webhooks);
    }
  }
  return announced;
}
