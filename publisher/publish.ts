// The publisher's library: once the rendition is final, post the event —
// images and the manifest listing audio.m4a (which the transcoder wrote
// during the event), the VOD playlist, transcript files and peaks — then mark
// it published and tell the webhooks. Everything heavy happened while the
// event was live; what is left costs the same at any length. What the
// publisher knows of the transcript comes from the transcriber's messages
// (publication-store.ts), never from the transcriber's tables.
import type { EventCatalog, EventRow } from '../shared/catalog/events.ts';
import type { Config } from '../shared/config.ts';
import { CACHE_CONTROL, keys, TRANSCRIPT_TYPES } from '../shared/layout.ts';
import type { Logger } from '../shared/log.ts';
import { metrics } from '../shared/metrics.ts';
import type { Storage } from '../shared/storage/storage.ts';
import { describe, describeIfPresent, describeRendition, objectSha256, type ManifestFile } from './assemble.ts';
import { eventImages } from './prepared-images.ts';
import type { PublicationStore, TranscriptInfo } from './publication-store.ts';
import type { ChapterStore } from './chapters/chapter-store.ts';
import type { ClipCatalog } from '../shared/catalog/clips.ts';
import type { SearchEngine } from './search/search.ts';
import { writeStoredPage } from './stored-page.ts';
import type { WebhookStore } from './webhook-store.ts';
import { emit, type EmitDeps } from './webhooks.ts';
import { eventUrls } from './event-urls.ts';
import { writeFeed } from './feed-document.ts';
import { allOrFirstError } from '../shared/settled.ts';
import { stepTimer } from '../shared/step-timer.ts';

export { eventUrls };

export interface PublisherDeps {
  catalog: EventCatalog;
  storage: Storage;
  config: Config;
  log: Logger;
  publications: PublicationStore;
  webhooks: EmitDeps & { store: WebhookStore };
  /** How long after the rendition is final a publish waits for the transcript before posting without it (it follows as event.updated). */
  transcriptWaitMs?: number;
  /** Word timings for the stored page's lines (the search index). */
  engine?: SearchEngine;
  /** Chapters: the stored page lists them, the feed links them. */
  chapters: ChapterStore;
  /** Clips: the feed offers the soundbites among them. */
  clips: Pick<ClipCatalog, 'soundbitesOf'>;
}

/**
 * What a publication needs besides the transcript, made as soon as the
 * rendition's length and waveform are final: the card, and the artwork if
 * the event's start did not draw it (prepared-images.ts). The publication
 * then costs the same whether or not it waited for the transcript's last
 * window. The length is the final rendition's unless given (by the message
 * that came before it).
 */
export async function preparePublication(eventId: string, deps: Pick<PublisherDeps, 'catalog' | 'storage'>, durationSec?: number): Promise<void> {
  const ev = await deps.catalog.getEvent(eventId);
  if (!ev || ev.status === 'live') return;
  await eventImages(ev, deps.storage, durationSec ?? (await describeRendition(eventId, deps.storage)).durationSec);
}

/** The publication's stored page and the feed, as the catalog stands: done again by a retried job, at no harm. */
export async function writeStoredPublication(eventId: string, deps: PublisherDeps): Promise<void> {
  // Independent objects: written side by side (each settles before a failure is passed on).
  allOrFirstError(await Promise.allSettled([writeStoredPage(eventId, deps), writeFeed(deps)]));
}

async function readJson<T>(storage: Storage, key: string): Promise<T | undefined> {
  if (!(await storage.head(key))) return undefined;
  return JSON.parse((await storage.get(key)).toString('utf8')) as T;
}

/** The files among `wanted` that are stored, described (read and hashed) side by side, in `wanted`'s order. */
async function presentFiles(storage: Storage, wanted: [role: string, key: string, contentType: string][]): Promise<ManifestFile[]> {
  const found = await Promise.all(wanted.map(([role, key, type]) => describeIfPresent(storage, role, key, type)));
  return found.filter((f): f is ManifestFile => f !== undefined);
}

async function transcriptFiles(storage: Storage, eventId: string): Promise<ManifestFile[]> {
  return presentFiles(
    storage,
    (['vtt', 'srt', 'json', 'txt'] as const).map((fmt) => [`transcript-${fmt}`, keys.transcript(eventId, fmt), TRANSCRIPT_TYPES[fmt]]),
  );
}

async function writeManifest(deps: PublisherDeps, ev: EventRow, files: ManifestFile[], extra: Record<string, unknown>): Promise<ManifestFile> {
  const { catalog, storage } = deps;
  const [gaps, failures] = await Promise.all([catalog.gaps(ev.id), catalog.failures(ev.id)]);
  const manifest = {
    version: 1,
    event: { id: ev.id, slug: ev.slug, title: ev.title, host: ev.host, createdAt: ev.createdAt, endedAt: ev.endedAt },
    gaps: gaps.map((g) => ({ startSec: g.startSec, endSec: g.endSec, reason: g.reason })),
    failures: failures.map(({ eventId: _e, ...f }) => f),
    ...extra,
    files,
  };
  const body = JSON.stringify(manifest, null, 2);
  await storage.put(keys.manifest(ev.id), body, { contentType: 'application/json', cacheControl: CACHE_CONTROL.short });
  return describe(storage, 'manifest', keys.manifest(ev.id), body, 'application/json');
}

/**
 * Publishes an ended event whose rendition is final, with the transcript as
 * the transcriber last said it stands. Idempotent: a repeated or retried call
 * finds the publication and changes nothing; a failed event is never
 * published.
 */
export async function publishEvent(eventId: string, deps: PublisherDeps): Promise<'published' | 'already' | 'gone' | 'failed'> {
  const { catalog, storage, log, publications } = deps;
  const found = await catalog.getEvent(eventId);
  if (!found) return 'gone';
  if (await publications.get(eventId)) {
    // A retried job whose publication was made but whose page or feed may not have been written.
    await writeStoredPublication(eventId, deps);
    return 'already';
  }
  if (found.status === 'live') throw new Error('event is still live');
  await catalog.transition(eventId, 'publishing');
  const ev = (await catalog.getEvent(eventId))!;
  // A failed event stays failed; a published one was published by someone else meanwhile.
  if (ev.status === 'failed') return 'failed';
  if (ev.status !== 'publishing') return 'already';

  const ms = stepTimer();
  const { transcript } = await publications.inputs(eventId);
  const { files, durationSec, audioBytes } = await describeRendition(eventId, storage);
  const loudness = await readJson<Record<string, unknown>>(storage, keys.loudness(eventId));
  ms.lap('rendition');
  const { card, artwork } = await eventImages(ev, storage, durationSec);
  ms.lap('images');
  files.push(describe(storage, 'card', keys.card(eventId), card, 'image/png'), describe(storage, 'artwork', keys.artwork(eventId), artwork, 'image/jpeg'));
  const [measurements, transcriptList] = await Promise.all([
    presentFiles(storage, [
      ['peaks', keys.peaks(eventId), 'application/json'],
      ['loudness', keys.loudness(eventId), 'application/json'],
    ]),
    transcriptFiles(storage, eventId),
  ]);
  files.push(...measurements, ...transcriptList);
  await writeManifest(deps, ev, files, { durationSec, loudness: loudness ?? null, transcript: { status: transcript.status, reason: transcript.reason } });
  ms.lap('manifest');

  const publishedAt = new Date();
  const endedAt = ev.endedAt ? Date.parse(ev.endedAt) : publishedAt.getTime();
  const created = await publications.create({
    eventId,
    publishedAt: publishedAt.toISOString(),
    latencyMs: Math.max(0, publishedAt.getTime() - endedAt),
    durationSec,
    audioBytes,
    transcriptStatus: transcript.status,
    transcriptRevision: transcript.revision,
  });
  if (!created) return 'already';
  await catalog.transition(eventId, 'published');
  ms.lap('published');
  // The stored page becomes the replay (a live page polling its state loads it) and the feed lists it, before anyone is told.
  // If storage fails here the webhook still goes once, and the job fails after it: its retry writes them again.
  const stored = await writeStoredPublication(eventId, deps).then(
    () => undefined,
    (e: unknown) => (e instanceof Error ? e : new Error(String(e))),
  );
  ms.lap('pageAndFeed');
  metrics.eventsPublished.inc();
  metrics.publishLatency.observe(Math.max(0, publishedAt.getTime() - endedAt) / 1000);
  log.info('event published', {
    event: eventId,
    latencyMs: publishedAt.getTime() - endedAt,
    durationSec: durationSec.toFixed(3),
    transcript: transcript.status,
    ms: ms.laps,
  });
  await emit('event.published', await publishedPayload(deps, eventId), deps.webhooks);
  if (stored) throw stored;
  await completeAudioChecksum(deps, ev);
  // A transcript message that came while this publication was being made left it to us: apply it now.
  const latest = (await publications.inputs(eventId)).transcript;
  if (latest.revision !== transcript.revision || latest.status !== transcript.status) await republishTranscript(eventId, latest, deps);
  return 'published';
}

/** Fills in audio.m4a's sha256 where the manifest lacks it (the store joined the file itself); true when it did. */
async function withAudioChecksum(storage: Storage, files: ManifestFile[]): Promise<boolean> {
  const audio = files.find((f) => f.role === 'audio' && !f.sha256);
  if (!audio) return false;
  audio.sha256 = await objectSha256(storage, audio.key);
  return true;
}

/** After publication, so reading hours of audio back never delays it: the manifest gets audio.m4a's sha256 if it lacked it. */
async function completeAudioChecksum(deps: PublisherDeps, ev: EventRow): Promise<void> {
  const manifest = JSON.parse((await deps.storage.get(keys.manifest(ev.id))).toString('utf8')) as { files: ManifestFile[] } & Record<string, unknown>;
  if (!(await withAudioChecksum(deps.storage, manifest.files))) return;
  const { files, event: _e, gaps: _g, failures: _x, version: _v, ...rest } = manifest;
  await writeManifest(deps, ev, files, rest);
}

/** The transcript changed after publication: refresh the manifest and tell the webhooks. */
export async function republishTranscript(eventId: string, t: TranscriptInfo, deps: PublisherDeps): Promise<boolean> {
  const { catalog, publications, storage } = deps;
  const ev = await catalog.getEvent(eventId);
  if (!ev || !(await publications.get(eventId))) return false; // not published yet: the publication will include it
  const revision = await publications.updateTranscript(eventId, t.status, t.revision);
  if (revision === undefined) {
    // Nothing new, or a retry of a job that recorded it: the stored page and feed are written again all the same.
    await writeStoredPublication(eventId, deps);
    return false;
  }
  const manifest = JSON.parse((await storage.get(keys.manifest(eventId))).toString('utf8')) as { files: ManifestFile[] } & Record<string, unknown>;
  const files = manifest.files.filter((f) => !f.role.startsWith('transcript-'));
  files.push(...(await transcriptFiles(storage, eventId)));
  await withAudioChecksum(storage, files);
  const { files: _f, event: _e, gaps: _g, failures: _x, version: _v, ...rest } = manifest;
  await writeManifest(deps, ev, files, { ...rest, transcript: { status: t.status, reason: t.reason } });
  await writeStoredPublication(eventId, deps);
  await emit('event.updated', { ...(await publishedPayload(deps, eventId)), change: 'transcript' }, deps.webhooks, { revision });
  return true;
}

export async function publishedPayload(deps: Pick<PublisherDeps, 'catalog' | 'config' | 'storage' | 'publications'>, eventId: string) {
  const ev = (await deps.catalog.getEvent(eventId))!;
  const pub = await deps.publications.get(eventId);
  return {
    id: ev.id,
    slug: ev.slug,
    title: ev.title,
    status: ev.status,
    endedAt: ev.endedAt,
    publishedAt: pub?.publishedAt,
    durationSec: pub?.durationSec,
    transcript: pub ? { status: pub.transcriptStatus } : undefined,
    urls: eventUrls(deps.config, deps.storage, ev),
  };
}
