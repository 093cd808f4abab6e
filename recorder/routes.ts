// The recorder's HTTP routes: the events API and push ingest.
// Other stages add their progress to an event's JSON through `extensions`
// (wired by the composition root), so this file never imports them.
import { mediaPositionOf } from './segment-placement.ts';
import express, { Router, type Request, type RequestHandler, type Response } from 'express';
import type { EventCatalog, EventRow, SourceSpec } from '../shared/catalog/events.ts';
import { MAX_REDUNDANCY, type Config } from '../shared/config.ts';
import { badRequest, checkEventId, HttpError, notFound, safeEqual } from '../shared/http.ts';
import type { AddressPolicy } from '../shared/net-policy.ts';
import { EventNotLiveError, hashKey, TooManyLiveEventsError, type NewEvent, type Recorder } from './recorder.ts';
import { PushBusyError, type PushOutcome } from './push-source.ts';
import { checkSourceUrl, SourceUrlError } from './sources.ts';
import type { CaptureStore } from './store.ts';

/**
 * Adds a stage's fields to events' JSON (e.g. transcodedSec, urls), for a
 * whole list at once (one element per event, in order), so listing events
 * costs a fixed number of queries whatever its length.
 */
export type EventExtension = (events: EventRow[]) => Promise<Record<string, unknown>[]>;

export interface RecorderRouteDeps {
  catalog: EventCatalog;
  capture: CaptureStore;
  config: Config;
  recorder: Recorder;
  policy: AddressPolicy;
  requireAuth: RequestHandler;
  extensions?: EventExtension[];
  /** An event was deleted: its data is forgotten in the background (the composition root queues event-deleted). */
  onDeleted: (eventId: string) => Promise<void>;
}

const round3 = (n: number) => Math.round(n * 1000) / 1000;

export async function eventsJson(events: EventRow[], catalog: EventCatalog, extensions: EventExtension[] = []): Promise<Record<string, unknown>[]> {
  const ids = events.map((e) => e.id);
  const [gaps, failures, ...parts] = await Promise.all([catalog.gapsOf(ids), catalog.failuresOf(ids), ...extensions.map((x) => x(events))]);
  return events.map((ev, i) => {
    // Every captured chunk is archived before it is counted, so captured and archived seconds are one sum.
    const captured = round3(ev.capturedSec);
    const base: Record<string, unknown> = {
      id: ev.id,
      slug: ev.slug,
      title: ev.title,
      host: ev.host,
      status: ev.status,
      source: 'url' in ev.source ? { type: 'pull' } : { type: 'push' },
      reconnectWindowSec: ev.reconnectWindowSec,
      capturedSec: captured,
      archivedSec: captured,
      timelineSec: round3(ev.timelineSec),
      gaps: (gaps.get(ev.id) ?? []).map((g) => ({ startSec: round3(g.startSec), endSec: round3(g.endSec), reason: g.reason })),
      chunks: ev.chunkCount,
      createdAt: ev.createdAt,
      endedAt: ev.endedAt,
      endReason: ev.endReason,
      error: ev.error,
      failures: (failures.get(ev.id) ?? []).map(({ eventId: _e, ...f }) => f),
    };
    // Stages each add fields; `urls` is merged key by key (a later stage may override an earlier one's URL).
    for (const part of parts) {
      const { urls, ...rest } = part[i] as { urls?: Record<string, unknown> };
      Object.assign(base, rest);
      if (urls) base.urls = { ...(base.urls as object | undefined), ...urls };
    }
    return base;
  });
}

/** The JSON body of POST /api/events as it arrives: every field is checked by parseCreate. */
interface CreateEventBody {
  title?: unknown;
  host?: unknown;
  source?: unknown;
  reconnectWindowSec?: unknown;
  redundancy?: unknown;
}

function parseCreate(body: unknown, config: Config, policy: AddressPolicy, owner: string): NewEvent {
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw badRequest('body', 'body must be a JSON object');
  const { title, host, source: rawSource, reconnectWindowSec, redundancy } = body as CreateEventBody;
  if (typeof title !== 'string' || !title.trim()) throw badRequest('title', 'title is required (a non-empty string)');
  if (title.length > 300) throw badRequest('title', 'title is longer than 300 characters');
  if (host !== undefined && (typeof host !== 'string' || host.length > 120)) throw badRequest('host', 'host must be a string of at most 120 characters');
  if (!rawSource || typeof rawSource !== 'object' || Array.isArray(rawSource)) throw badRequest('source', 'source must be {url} or {type: "push"}');
  const source = rawSource as { type?: unknown; url?: unknown };
  let spec: SourceSpec;
  if (source.type === 'push' && source.url === undefined) spec = { type: 'push' };
  else if (source.type === undefined || source.type === 'pull') {
    try {
      spec = { url: checkSourceUrl(source.url, policy).url };
    } catch (e) {
      if (e instanceof SourceUrlError) throw badRequest('source.url', e.message);
      throw e;
    }
  } else throw badRequest('source.type', 'source.type must be "push" (or give source.url)');
  let window = config.defaultReconnectWindowSec;
  if (reconnectWindowSec !== undefined) {
    if (typeof reconnectWindowSec !== 'number' || !Number.isInteger(reconnectWindowSec) || reconnectWindowSec < 0 || reconnectWindowSec > 1800) {
      throw badRequest('reconnectWindowSec', 'reconnectWindowSec must be an integer from 0 to 1800');
    }
    window = reconnectWindowSec;
  }
  return {
    title: title.trim(),
    host: host?.trim() || undefined,
    source: spec,
    reconnectWindowSec: window,
    redundancy: parseRedundancy(redundancy, spec, config),
    owner,
  };
}

/** How many recorders record the event at once: pull sources only (a push reaches one process). */
function parseRedundancy(raw: unknown, source: SourceSpec, config: Config): number {
  if (raw === undefined) return 'url' in source ? config.redundancy : 1;
  if (typeof raw !== 'number' || !Number.isInteger(raw) || raw < 1 || raw > MAX_REDUNDANCY) {
    throw badRequest('redundancy', `redundancy must be an integer from 1 to ${MAX_REDUNDANCY}`);
  }
  if (raw > 1 && !('url' in source))
    throw badRequest('redundancy', 'redundancy above 1 needs a pull source (source.url to an HLS playlist); a push reaches one process');
  return raw;
}

/** The stream key of a push: a header (Authorization: Bearer or X-Stream-Key), or ?key= for encoders that can only set a URL. */
function streamKey(req: Request): string {
  return /^Bearer\s+(\S+)$/i.exec(req.get('authorization') ?? '')?.[1] ?? req.get('x-stream-key') ?? (typeof req.query.key === 'string' ? req.query.key : '');
}

/**
 * Answers a push that was cut off (idle, taken over, unreadable) while its
 * body may still be arriving: the answer goes out with Connection: close, then
 * the connection is closed once the client had a moment to read it.
 */
function answerCutOff(req: Request, res: Response, o: Exclude<PushOutcome, { status: 200 }>): void {
  if (res.headersSent) return void req.socket.destroy();
  res.set('Connection', 'close').status(o.status).json({ error: o.reason });
  res.once('finish', () => {
    req.resume();
    req.socket.end();
    setTimeout(() => req.socket.destroy(), 2000).unref();
  });
}

export function recorderRoutes(deps: RecorderRouteDeps): Router {
  const { catalog, capture, config, recorder, requireAuth, policy } = deps;
  const r = Router();
  const json = express.json({ limit: '64kb' });
  const view = async (ev: EventRow) => (await eventsJson([ev], catalog, deps.extensions))[0];
  const find = async (id: unknown): Promise<EventRow> => {
    const ev = await catalog.getEvent(checkEventId(String(id)));
    if (!ev) throw notFound('no such event');
    return ev;
  };

  r.post('/api/events', requireAuth, json, async (req, res) => {
    const input = parseCreate(req.body, config, policy, String(res.locals.tokenId));
    let created;
    try {
      created = await recorder.create(input);
    } catch (e) {
      if (e instanceof TooManyLiveEventsError) throw new HttpError(429, e.message);
      throw e;
    }
    const { event, streamKey } = created;
    const out: Record<string, unknown> = { ...(await view(event)) };
    if (streamKey) out.ingest = { url: `${config.publicUrl}/ingest/${event.id}`, key: streamKey };
    res.status(201).location(`/api/events/${event.id}`).json(out);
  });

  r.get('/api/events', async (_req, res) => {
    res.json({ events: await eventsJson(await catalog.listEvents(), catalog, deps.extensions) });
  });

  r.get('/api/events/:id', async (req, res) => {
    res.json(await view(await find(req.params.id)));
  });

  // The archive's index: every chunk with its place on the timeline and its checksum.
  r.get('/api/events/:id/chunks', async (req, res) => {
    const ev = await find(req.params.id);
    res.json({
      chunks: (await capture.chunks(ev.id)).map((c) => ({
        seq: c.seq,
        // An HLS segment's place in its source: {epoch, mediaSeq}; null for a chunk cut from a stream.
        media: mediaPositionOf(c.spoolName) ?? null,
        startSec: c.startSec,
        durationSec: c.durationSec,
        bytes: c.bytes,
        sha256: c.sha256,
        key: c.key,
        archivedAt: c.createdAt,
      })),
    });
  });

  r.post('/api/events/:id/end', requireAuth, async (req, res) => {
    const ev = await find(req.params.id);
    if (ev.status === 'live') await recorder.end(ev.id);
    res.status(202).json(await view((await catalog.getEvent(ev.id))!));
  });

  // Only a finished event can be deleted (status.ts); it vanishes from every read at once, its data soon after.
  r.delete('/api/events/:id', requireAuth, async (req, res) => {
    const ev = await find(req.params.id);
    if (!(await catalog.transition(ev.id, 'deleted'))) {
      const status = (await catalog.getEvent(ev.id))?.status;
      if (!status) throw notFound('no such event');
      throw new HttpError(409, `event is ${status}: only a published or failed event can be deleted (end it and wait for its publication)`);
    }
    await deps.onDeleted(ev.id);
    res.status(202).json({ id: ev.id, status: 'deleted' });
  });

  // Push ingest. The key never reaches a log: the logger redacts key=, and errors log only the path.
  r.put('/ingest/:id', async (req, res) => {
    const ev = await find(req.params.id);
    const given = streamKey(req);
    if (!ev.streamKeyHash || !given || !safeEqual(hashKey(given), ev.streamKeyHash)) {
      req.resume();
      throw new HttpError(401, 'wrong or missing stream key');
    }
    if (ev.status !== 'live') throw new HttpError(409, `event is ${ev.status}`);
    let outcome: PushOutcome;
    try {
      outcome = await recorder.push(ev.id, req);
    } catch (e) {
      if (e instanceof PushBusyError || e instanceof EventNotLiveError) {
        req.resume();
        throw new HttpError(409, e.message);
      }
      throw e;
    }
    if (outcome.status !== 200) return answerCutOff(req, res, outcome);
    if (!res.headersSent) res.json(await view((await catalog.getEvent(ev.id))!));
  });

  return r;
}
