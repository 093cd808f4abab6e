// A clip as the API, its webhook and its page describe it: its span in
// seconds (on the rendition's frame grid, so what the audio really holds),
// where it stands, and its URLs: its page, its audio and card once they
// exist, and the full recording at the clip's first second.
import type { ClipRow } from '../../shared/catalog/clips.ts';
import type { EventRow } from '../../shared/catalog/events.ts';
import type { Config } from '../../shared/config.ts';
import type { Storage } from '../../shared/storage/storage.ts';
import { audiogramsJson, type ClipAudiograms } from '../audiograms/audiogram-json.ts';
import type { AudiogramRow } from '../audiograms/audiogram-store.ts';
import { eventUrls } from '../event-urls.ts';
import { withEmbed } from '../page.ts';

export interface ClipUrls {
  page: string;
  audio: string | null;
  card: string | null;
  /** The full recording, playing from the clip's start. */
  recording: string;
  /** The embed player playing the clip's span (X's player card, oEmbed). */
  player: string;
  /** The clip page's oEmbed. */
  oembed: string;
}

export interface ClipJson {
  id: string;
  eventId: string;
  eventSlug: string;
  eventTitle: string;
  title: string | null;
  soundbite: boolean;
  startSec: number;
  endSec: number;
  durationSec: number;
  status: ClipRow['status'];
  reason: string | null;
  createdAt: string;
  readyAt: string | null;
  urls: ClipUrls;
  /** Its videos, per size: where each render stands (publisher/audiograms). */
  audiograms: ClipAudiograms;
}

export interface ClipJsonDeps {
  config: Config;
  storage: Storage;
}

export function clipUrls(deps: ClipJsonDeps, clip: ClipRow, ev: EventRow): ClipUrls {
  const recording = new URL(eventUrls(deps.config, deps.storage, ev).page);
  recording.searchParams.set('t', String(clip.startSec));
  const player = new URL(withEmbed(recording.href));
  player.searchParams.set('end', String(clip.endSec));
  const page = `${deps.config.publicUrl}/c/${clip.id}`;
  return {
    page,
    player: player.href,
    oembed: `${deps.config.publicUrl}/oembed?url=${encodeURIComponent(page)}`,
    audio: clip.audio ? deps.storage.publicUrl(clip.audio.key) : null,
    card: clip.cardKey ? deps.storage.publicUrl(clip.cardKey) : null,
    recording: recording.href,
  };
}

/** `audiograms`: the clip's audiogram rows (none yet: each size pending, or failed with a failed clip). */
export function clipJson(deps: ClipJsonDeps, clip: ClipRow, ev: EventRow, audiograms?: AudiogramRow[]): ClipJson {
  return {
    id: clip.id,
    eventId: clip.eventId,
    eventSlug: ev.slug,
    eventTitle: ev.title,
    title: clip.title,
    soundbite: clip.soundbite,
    startSec: clip.startSec,
    endSec: clip.endSec,
    durationSec: Math.round((clip.endSec - clip.startSec) * 1e6) / 1e6,
    status: clip.status,
    reason: clip.reason,
    createdAt: clip.createdAt,
    readyAt: clip.readyAt,
    urls: clipUrls(deps, clip, ev),
    audiograms: audiogramsJson(deps.storage, clip, audiograms),
  };
}
