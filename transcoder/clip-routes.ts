// Making and deleting clips (API token). A clip is any span of 1 s to 10 min
// of what the rendition holds so far: while the event is live, up to what has
// been transcoded. The span is checked and put on the rendition's frame grid
// here, then the clip is recorded (pending) and its cut queued; bad input is
// a 400 naming the field and records nothing. Reads are the publisher's
// (publisher/clips/routes.ts); `view` is how a clip is shown.
import crypto from 'node:crypto';
import express, { Router, type RequestHandler } from 'express';
import type { ClipCatalog, ClipRow, NewClip } from '../shared/catalog/clips.ts';
import { isClipId } from '../shared/catalog/clips.ts';
import type { EventCatalog, EventRow } from '../shared/catalog/events.ts';
import { badRequest, checkEventId, HttpError, notFound } from '../shared/http.ts';
import type { Logger } from '../shared/log.ts';
import { keys } from '../shared/layout.ts';
import { withTimeout, type Queues } from '../shared/queues.ts';
import type { Storage } from '../shared/storage/storage.ts';
import { FRAME, RATE } from './grid.ts';
import type { TranscoderState } from './state.ts';

export const MIN_CLIP_SEC = 1;
export const MAX_CLIP_SEC = 600;
/** Clips one event may have: each is a small file, a card and a row, but not without end. */
export const MAX_CLIPS_PER_EVENT = 1000;
const MAX_TITLE = 200;

export interface ClipWriteRouteDeps {
  catalog: EventCatalog;
  clips: ClipCatalog;
  state: TranscoderState;
  storage: Storage;
  queues: Pick<Queues, 'add'>;
  requireAuth: RequestHandler;
  view: (clip: ClipRow, ev: EventRow) => unknown;
  /** After a clip is deleted: what listed it is written again (a soundbite leaves the feed). */
  onDeleted: (clip: ClipRow) => Promise<void>;
  log: Logger;
}

type ClipSpanInput = Omit<NewClip, 'id' | 'eventId'>;

const round6 = (n: number) => Math.round(n * 1e6) / 1e6;
const frameSec = (frame: number) => round6((frame * FRAME) / RATE);

function seconds(body: Record<string, unknown>, field: 'startSec' | 'endSec'): number {
  const v = body[field];
  if (typeof v !== 'number' || !Number.isFinite(v)) throw badRequest(field, `${field} must be a number of seconds`);
  if (v < 0) throw badRequest(field, `${field} must be 0 or more`);
  return v;
}

function text(body: Record<string, unknown>): string | null {
  const v = body.title;
  if (v === undefined || v === null) return null;
  if (typeof v !== 'string') throw badRequest('title', 'title must be a string');
  // eslint-disable-next-line no-control-regex
  const t = v.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
  if (t.length > MAX_TITLE) throw badRequest('title', `title is at most ${MAX_TITLE} characters`);
  return t || null;
}

/** The request's span on the frame grid, checked against the rendition's `availableFrames`; a 400 naming the field otherwise. */
export function parseClipRequest(body: unknown, availableFrames: number): ClipSpanInput {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw badRequest('body', 'the body must be a JSON object {startSec, endSec, title?, soundbite?}');
  }
  const b = body as Record<string, unknown>;
  const start = seconds(b, 'startSec');
  const end = seconds(b, 'endSec');
  if (end - start < MIN_CLIP_SEC) throw badRequest('endSec', `endSec must be at least ${MIN_CLIP_SEC} s after startSec`);
  if (end - start > MAX_CLIP_SEC) throw badRequest('endSec', `a clip lasts at most ${MAX_CLIP_SEC} s (10 minutes)`);
  const title = text(b);
  if (b.soundbite !== undefined && typeof b.soundbite !== 'boolean') throw badRequest('soundbite', 'soundbite must be true or false');
  const available = frameSec(availableFrames);
  if (start >= available) throw badRequest('startSec', `startSec is past the end of the recording so far (${available} s transcoded)`);
  // Within half a frame of the end is the end (the grid rounds to the nearest frame).
  if (end > available + FRAME / RATE / 2) throw badRequest('endSec', `endSec is past the end of the recording so far (${available} s transcoded)`);
  const startFrame = Math.round((start * RATE) / FRAME);
  const endFrame = Math.min(Math.round((end * RATE) / FRAME), availableFrames);
  return { title, soundbite: b.soundbite === true, startFrame, endFrame, startSec: frameSec(startFrame), endSec: frameSec(endFrame) };
}

export function clipWriteRoutes(deps: ClipWriteRouteDeps): Router {
  const { catalog, clips, state, storage, queues, requireAuth } = deps;
  const r = Router();
  const json = express.json({ limit: '64kb' });

  r.post('/api/events/:id/clips', requireAuth, json, async (req, res) => {
    const ev = await catalog.getEvent(checkEventId(String(req.params.id)));
    if (!ev) throw notFound('no such event');
    const span = parseClipRequest(req.body, (await state.playablePrefix(ev.id)).frames);
    if ((await clips.countOf(ev.id)) >= MAX_CLIPS_PER_EVENT) throw new HttpError(409, `an event has at most ${MAX_CLIPS_PER_EVENT} clips: delete some first`);
    const clip = await clips.create({ id: `cl_${crypto.randomBytes(8).toString('hex')}`, eventId: ev.id, ...span });
    try {
      await withTimeout(queues.add('clip-requested', { clipId: clip.id }), 5000, 'queueing a clip');
    } catch (e) {
      // Nothing half-made: without its job the clip would stay pending for ever.
      await clips.delete(clip.id);
      deps.log.warn('clip not queued', { clip: clip.id, err: (e as Error).message });
      throw new HttpError(503, 'the job queue is not answering; try again');
    }
    res.status(201).location(`/api/clips/${clip.id}`).json(deps.view(clip, ev));
  });

  // Gone from every read at once; its audio and card go with it (a cut still running removes what it stores).
  r.delete('/api/clips/:id', requireAuth, async (req, res) => {
    const id = String(req.params.id);
    const clip = isClipId(id) ? await clips.get(id) : undefined;
    if (!clip || !(await clips.delete(clip.id))) throw notFound('no such clip');
    for (const o of await storage.list(keys.clipPrefix(clip.eventId, clip.id))) await storage.delete(o.key);
    await deps.onDeleted(clip);
    res.json({ id: clip.id, status: 'deleted' });
  });

  return r;
}
