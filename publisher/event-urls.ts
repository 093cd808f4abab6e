// Where an event's publication is found: the URLs handed out in the API, the
// feed, webhooks, oEmbed and the pages. Storage gives the objects' public
// URLs (the fs driver's `/files`, or the bucket's public base / CDN).
import type { EventRow } from '../shared/catalog/events.ts';
import type { Config } from '../shared/config.ts';
import { keys } from '../shared/layout.ts';
import type { Storage } from '../shared/storage/storage.ts';

/**
 * The event's public URLs. With S3 the page is the object stored beside the
 * media (a bucket or a CDN serves it with no app behind it); with fs storage
 * it is the app's `/e/:slug`, which renders the same page.
 */
export function eventUrls(config: Config, storage: Storage, ev: EventRow) {
  return {
    page: config.storage === 's3' ? storage.publicUrl(keys.page(ev.id)) : `${config.publicUrl}/e/${ev.slug}`,
    audio: storage.publicUrl(keys.audio(ev.id)),
    hls: storage.publicUrl(keys.hlsPlaylist(ev.id)),
    manifest: storage.publicUrl(keys.manifest(ev.id)),
    card: storage.publicUrl(keys.card(ev.id)),
    artwork: storage.publicUrl(keys.artwork(ev.id)),
    peaks: storage.publicUrl(keys.peaks(ev.id)),
    transcript: {
      vtt: storage.publicUrl(keys.transcript(ev.id, 'vtt')),
      srt: storage.publicUrl(keys.transcript(ev.id, 'srt')),
      json: storage.publicUrl(keys.transcript(ev.id, 'json')),
      txt: storage.publicUrl(keys.transcript(ev.id, 'txt')),
    },
  };
}
