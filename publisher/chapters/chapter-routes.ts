// Markers and chapters over HTTP.
//
//   POST /api/events/:id/markers {title, atSec?}   a host marks a moment; while
//        live `atSec` defaults to now (the recording's current end); 201
//   GET  /api/events/:id/chapters                  the chapters, JSON chapters
//   PUT  /api/events/:id/chapters                  a host's edit, a whole JSON
//        chapters document ({version, chapters: [{startTime, title, ...}]})
//
// Writes need the API token. A bad field is a 400 naming it and changes
// nothing; a failed event's structure is closed (409).
import express, { Router, type RequestHandler } from 'express';
import type { EventCatalog, EventRow } from '../../shared/catalog/events.ts';
import { badRequest, checkEventId, HttpError, notFound } from '../../shared/http.ts';
import type { Logger } from '../../shared/log.ts';
import type { PublicationStore } from '../publication-store.ts';
import { CHAPTERS_TYPE, cleanText, cleanTime, isObject, parseChapters } from './chapters-format.ts';
import { publishChapters, type PublishChaptersDeps } from './publish-chapters.ts';

export interface ChapterRouteDeps extends PublishChaptersDeps {
  catalog: EventCatalog;
  publications: PublicationStore;
  log: Logger;
}

const jsonBody = express.json({ limit: '256kb', type: ['application/json', CHAPTERS_TYPE] });

export function chapterRoutes(deps: ChapterRouteDeps, requireAuth: RequestHandler): Router {
  const r = Router();

  /** A visible event (not deleted); writes also refuse a failed one. */
  const eventFor = async (id: string, forWrite: boolean): Promise<EventRow> => {
    const ev = await deps.catalog.getEvent(checkEventId(id));
    if (!ev) throw notFound('no such event');
    if (forWrite && ev.status === 'failed') throw new HttpError(409, 'the event failed: its chapters cannot change');
    return ev;
  };

  /** How long the recording is: the published length, else what has been recorded so far. */
  const lengthOf = async (ev: EventRow) => (await deps.publications.get(ev.id))?.durationSec ?? ev.timelineSec;

  r.post('/api/events/:id/markers', requireAuth, jsonBody, async (req, res) => {
    const ev = await eventFor(String(req.params.id), true);
    const body: unknown = req.body;
    if (!isObject(body)) throw badRequest('body', 'expected a JSON object: {title, atSec?}');
    const title = cleanText(body.title, 'title');
    const length = await lengthOf(ev);
    let atSec: number;
    if (body.atSec !== undefined) atSec = cleanTime(body.atSec, 'atSec', length);
    else if (ev.status === 'live') atSec = Math.round(length * 1000) / 1000;
    else throw badRequest('atSec', 'atSec is required once the event has ended (seconds from the start of the recording)');
    const marker = await deps.chapters.addMarker(ev.id, atSec, title);
    const current = await publishChapters(ev, deps);
    deps.log.info('marker set', { event: ev.id, atSec });
    res.status(201).json({ ...marker, chaptersRevision: current.revision });
  });

  r.get('/api/events/:id/chapters', async (req, res) => {
    const ev = await eventFor(String(req.params.id), false);
    const current = await deps.chapters.chapters(ev.id);
    res.set('X-Chapters-Revision', String(current.revision));
    res.type(CHAPTERS_TYPE).send(JSON.stringify(current.doc));
  });

  r.put('/api/events/:id/chapters', requireAuth, jsonBody, async (req, res) => {
    const ev = await eventFor(String(req.params.id), true);
    const doc = parseChapters(req.body, await lengthOf(ev));
    await deps.chapters.saveEdited(ev.id, doc);
    const current = await publishChapters(ev, deps);
    deps.log.info('chapters edited', { event: ev.id, chapters: doc.chapters.length });
    res.set('X-Chapters-Revision', String(current.revision));
    res.type(CHAPTERS_TYPE).send(JSON.stringify(current.doc));
  });

  return r;
}
