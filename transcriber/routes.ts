// The transcriber's HTTP routes: the transcript as it stands, live or not,
// in every format, with how far it covers the timeline.
import { Router } from 'express';
import type { EventCatalog, EventRow } from '../shared/catalog/events.ts';
import type { Config } from '../shared/config.ts';
import { checkEventId, notFound } from '../shared/http.ts';
import type { TranscriberState } from './state.ts';
import { eventSegments, renderTranscript, TRANSCRIPT_FORMATS, transcriptContentType, type TranscriptFormat } from './transcribe-event.ts';

export function transcriberRoutes(deps: { catalog: EventCatalog; state: TranscriberState }): Router {
  const r = Router();
  r.get('/api/events/:id/transcript.:fmt', async (req, res) => {
    const fmt = req.params.fmt as TranscriptFormat;
    if (!TRANSCRIPT_FORMATS.includes(fmt)) throw notFound('formats: json, vtt, srt, txt');
    const ev = await deps.catalog.getEvent(checkEventId(req.params.id));
    if (!ev) throw notFound('no such event');
    const [covered, status, segments] = await Promise.all([deps.state.coveredSec(ev.id), deps.state.status(ev.id), eventSegments(deps.state, ev.id)]);
    res.set('X-Covered-Sec', covered.toFixed(3));
    res.set('X-Transcript-Status', status.status);
    res.set('Access-Control-Allow-Origin', '*');
    res.set('Cache-Control', 'no-cache');
    res.type(transcriptContentType(fmt));
    if (fmt === 'json') {
      // The Podcasting 2.0 shape, plus how far it reaches while the event is live.
      const body = JSON.parse(renderTranscript('json', segments)) as Record<string, unknown>;
      return res.send(JSON.stringify({ ...body, coveredSec: Math.round(covered * 1000) / 1000, status: status.status }, null, 2));
    }
    res.send(renderTranscript(fmt, segments));
  });
  return r;
}

/** The transcriber's part of events' JSON: two queries for a whole list. */
export function transcriberView(state: TranscriberState, config: Config) {
  return async (events: EventRow[]): Promise<Record<string, unknown>[]> => {
    const ids = events.map((e) => e.id);
    const [statuses, covered] = await Promise.all([state.statusesOf(ids), state.coveredSecOf(ids)]);
    return events.map((ev) => {
      const s = statuses.get(ev.id);
      const base = `${config.publicUrl}/api/events/${ev.id}/transcript`;
      return {
        transcribedSec: Math.round((covered.get(ev.id) ?? 0) * 1000) / 1000,
        transcript: { status: s?.status ?? 'pending', reason: s?.reason ?? undefined },
        urls: { transcript: Object.fromEntries(TRANSCRIPT_FORMATS.map((f) => [f, `${base}.${f}`])) },
      };
    });
  };
}
