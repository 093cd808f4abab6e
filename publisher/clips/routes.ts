// The clips' public reads: a clip's JSON, an event's clips, and the clip's
// page `/c/:id`. Clips are created and deleted through the transcoder's
// routes (transcoder/clip-routes.ts), which cut them.
import crypto from 'node:crypto';
import { Router } from 'express';
import { isClipId, type ClipCatalog, type ClipRow } from '../../shared/catalog/clips.ts';
import type { EventCatalog, EventRow } from '../../shared/catalog/events.ts';
import { checkEventId, notFound } from '../../shared/http.ts';
import { replayPageCsp } from '../page-csp.ts';
import { siteName, transcriptSegments } from '../page-input.ts';
import type { AudiogramStore } from '../audiograms/audiogram-store.ts';
import { clipJson, type ClipJsonDeps } from './clip-json.ts';
import { linesOfSpan, renderClipPage } from './page.ts';

export interface ClipReadRouteDeps extends ClipJsonDeps {
  catalog: EventCatalog;
  clips: ClipCatalog;
  /** Where each clip's audiograms stand. */
  audiograms: Pick<AudiogramStore, 'ofClips'>;
}

export function clipReadRoutes(deps: ClipReadRouteDeps): Router {
  const { catalog, clips, storage } = deps;
  const r = Router();

  /** A clip and its event; a clip whose event is gone (deleted) is gone too. */
  const find = async (id: string): Promise<{ clip: ClipRow; ev: EventRow }> => {
    const clip = isClipId(id) ? await clips.get(id) : undefined;
    const ev = clip && (await catalog.getEvent(clip.eventId));
    if (!clip || !ev) throw notFound('no such clip');
    return { clip, ev };
  };

  r.get('/api/clips/:id', async (req, res) => {
    const { clip, ev } = await find(String(req.params.id));
    res.json(clipJson(deps, clip, ev, (await deps.audiograms.ofClips([clip.id])).get(clip.id)));
  });

  r.get('/api/events/:id/clips', async (req, res) => {
    const ev = await catalog.getEvent(checkEventId(String(req.params.id)));
    if (!ev) throw notFound('no such event');
    const list = await clips.ofEvent(ev.id);
    const audiograms = await deps.audiograms.ofClips(list.map((c) => c.id));
    res.json({ clips: list.map((c) => clipJson(deps, c, ev, audiograms.get(c.id))) });
  });

  r.get('/c/:id', async (req, res) => {
    const { clip, ev } = await find(String(req.params.id));
    const json = clipJson(deps, clip, ev);
    const nonce = crypto.randomBytes(16).toString('base64');
    const lines = linesOfSpan((await transcriptSegments(storage, ev.id)) ?? [], clip.startSec, clip.endSec);
    const html = renderClipPage({ clip: json, host: ev.host, lines, siteName: siteName(), nonce });
    const media = [json.urls.audio, json.urls.card].filter((u): u is string => !!u);
    res.set('Content-Security-Policy', replayPageCsp(nonce, { mediaOrigins: media, frameAncestors: ["'none'"] }));
    res.set('Cache-Control', clip.status === 'ready' ? 'public, max-age=60' : 'no-cache');
    res.type('html').send(html);
  });

  return r;
}
