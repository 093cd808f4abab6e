// What a search may be narrowed by, checked field by field (a bad value is a
// 400 naming the field), and the FTS5 tags a date range becomes: whole
// years, then whole months, then days, so any range is a few index terms.
import { EVENT_STATUSES } from '../../shared/catalog/status.ts';
import { badRequest } from '../../shared/http.ts';

export type StatusFilter = 'live' | 'published';

export interface SearchFilters {
  host?: string;
  /** An event id (a slug is resolved to it by the caller). */
  eventId?: string;
  /** Inclusive, YYYY-MM-DD (UTC): the event's date. */
  from?: string;
  to?: string;
  status?: StatusFilter;
}

/** What the pages show: live events (and those being published) and published ones; never failed ones. */
export const VISIBLE_STATUSES = ['live', 'ended', 'publishing', 'published'] as const;
/** Failed and deleted: their rows leave the index, and until they have, searches leave them out by name. */
export const HIDDEN_STATUSES = EVENT_STATUSES.filter((s) => !(VISIBLE_STATUSES as readonly string[]).includes(s));

export function statusesFor(filter: StatusFilter | undefined): readonly string[] {
  if (filter === 'live') return ['live', 'ended', 'publishing'];
  if (filter === 'published') return ['published'];
  return VISIBLE_STATUSES;
}

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** A YYYY-MM-DD that is a real day, or a 400 naming the field. */
export function parseDay(field: string, raw: string): string {
  const m = DATE.exec(raw);
  const d = m ? new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]))) : undefined;
  if (!m || !d || d.toISOString().slice(0, 10) !== raw) throw badRequest(field, `${field} must be a date like 2026-12-01`);
  return raw;
}

const utc = (day: string) => new Date(`${day}T00:00:00Z`);
const dayStr = (d: Date) => d.toISOString().slice(0, 10);
const compact = (day: string) => day.replaceAll('-', '');

function lastDayOf(d: Date, unit: 'year' | 'month'): Date {
  return unit === 'year' ? new Date(Date.UTC(d.getUTCFullYear(), 11, 31)) : new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0));
}

/** The FTS5 tag tokens that cover [from, to] exactly (both inclusive, from <= to). */
export function dateRangeTags(from: string, to: string): string[] {
  const tags: string[] = [];
  const end = utc(to);
  for (let d = utc(from); d <= end;) {
    const yearEnd = lastDayOf(d, 'year');
    const monthEnd = lastDayOf(d, 'month');
    if (d.getUTCMonth() === 0 && d.getUTCDate() === 1 && yearEnd <= end) {
      tags.push(`y${d.getUTCFullYear()}`);
      d = new Date(Date.UTC(d.getUTCFullYear() + 1, 0, 1));
    } else if (d.getUTCDate() === 1 && monthEnd <= end) {
      tags.push(`m${compact(dayStr(d)).slice(0, 6)}`);
      d = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1));
    } else {
      tags.push(`d${compact(dayStr(d))}`);
      d = new Date(d.getTime() + 86_400_000);
    }
  }
  return tags;
}
