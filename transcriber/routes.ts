// The transcriber's HTTP routes: the transcript as it stands, live or not,
// in every format, with how far it covers the timeline.
import { Router } from 'express';
import type { Catalog, EventRow } from '../shared/catalog.ts';
import type { Config } from '../shared/config.ts';
import { checkEventId, notFound } from '../shared/http.ts';
import type { TranscriberState } from './state.ts';
import { eventSegments, renderTranscript, TRANSCRIPT_FORMATS, transcriptContentType, type TranscriptFormat } from './transcribe-event.ts';

export function transcriberRoutes(deps: { catalog: Catalog; state: TranscriberState }): Router {
  const r = Router();
  r.get('/api/events/:id/transcript.:fmt', (req, res) => {
    const fmt = req.params.fmt as TranscriptFormat;
    if (!TRANSCRIPT_FORMATS.includes(fmt)) throw notFound('formats: json, vtt, srt, txt');
    const ev = deps.catalog.getEvent(checkEventId(req.params.id));
    if (!ev) throw notFound('no such event');
    const covered = deps.state.coveredSec(ev.id);
    const status = deps.state.status(ev.id);
    const segments = eventSegments(deps.state, ev.id);
    res.set('X-Covered-Sec', covered.toFixed(3));
    res.set('X-Transcript-Status', status.status);
    res.set('Access-Control-Allow-Origin', '*');
    res.set('Cache-Control', 'no-cache');
    res.type(transcriptContentType(fmt));
    if (fmt === 'json') {
      // The Podcasting 2.0 shape, plus how far it reaches while the event is live.
      const body = JSON.parse(renderTranscript('json', segments));
      return res.send(JSON.stringify({ ...body, coveredSec: Math.round(covered * 1000) / 1000, status: status.status }, null, 2));
    }
    res.send(renderTranscript(fmt, segments));
  });
  return r;
}

/** The transcriber's part of an event's JSON. */
export function transcriberView(state: TranscriberState, config: Config) {
  return (ev: EventRow) => {
    const s = state.status(ev.id);
    const base = `${config.publicUrl}/api/events/${ev.id}/transcript`;
    return {
      transcribedSec: Math.round(state.coveredSec(ev.id) * 1000) / 1000,
      transcript: { status: s.status, reason: s.reason ?? undefined },
      urls: { transcript: Object.fromEntries(TRANSCRIPT_FORMATS.map((f) => [f, `${base}.${f}`])) },
    };
  };
}
