// Search hits as files a journalist cites from: CSV (spreadsheets) and JSON,
// each hit with the event's title, host and date, the start time, the URL
// that plays from it, and the words. CSV cells that a spreadsheet would run
// as a formula (=, +, -, @, tab, CR) are defused with a leading quote.
import { hms } from '../html.ts';
import type { HitJson } from './hit-json.ts';

export interface Citation {
  title: string;
  host: string | null;
  date: string;
  start: string;
  startSec: number;
  endSec: number;
  url: string;
  speaker: string | null;
  text: string;
}

export const citation = (h: HitJson): Citation => ({
  title: h.title,
  host: h.host,
  date: h.date,
  start: hms(h.startSec),
  startSec: h.startSec,
  endSec: h.endSec,
  url: h.url,
  speaker: h.speaker,
  text: h.text,
});

const COLUMNS: (keyof Citation)[] = ['title', 'host', 'date', 'start', 'startSec', 'endSec', 'url', 'speaker', 'text'];

function cell(v: string | number | null): string {
  let s = v === null ? '' : String(v);
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return `"${s.replace(/"/g, '""')}"`;
}

/** RFC 4180 CSV with a header row, CRLF line ends. */
export function citationsCsv(rows: Citation[]): string {
  return [COLUMNS.join(','), ...rows.map((r) => COLUMNS.map((c) => cell(r[c])).join(','))].join('\r\n') + '\r\n';
}
