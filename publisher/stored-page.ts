// The event's page as static objects beside its media, so a bucket or a CDN
// serves the publication alone, listeners never reaching the app:
//
//   events/<id>/index.html   the page: the live page while live (it plays the
//                            growing HLS playlist and polls the transcript),
//                            the replay page once published, rewritten when a
//                            late transcript lands
//   events/<id>/oembed.json  oEmbed (the embed player in an iframe)
//   events/<id>/state.json   what the page shows ({status}); a live page polls
//                            it and loads the replay once it says published
//
// The page is the one the app renders for `/e/:slug` (page-input.ts), with
// its script and stylesheet allowed by hash in a <meta> policy instead of a
// per-request nonce, and nothing of the request in it (the script reads
// `?t=`, `?end=`, `?embed`, `?find=` from the address). Written from the
// catalog as it stands, never patched: a retried or repeated write gives the
// same objects, and a write that raced a change (published meanwhile, or
// deleted) is done again (or its objects removed).
import type { EventRow } from '../shared/catalog/events.ts';
import { CACHE_CONTROL, keys } from '../shared/layout.ts';
import { oembedFor } from './oembed.ts';
import { renderReplayPage, storedPageCsp } from './page.ts';
import { isLivePage, replayPageBase, siteName, type PageInputDeps } from './page-input.ts';
import type { Publication, PublicationStore } from './publication-store.ts';

export interface StoredPageDeps extends PageInputDeps {
  publications: PublicationStore;
}

const MAX_ROUNDS = 5;

/** What a stored page depends on: when this changes, the page is written again. */
function stamp(ev: EventRow | undefined, pub: Publication | undefined, chaptersRevision: number): string {
  return ev && ev.status !== 'deleted' ? JSON.stringify([ev.status, ev.title, ev.host, pub?.revision, pub?.transcriptRevision, chaptersRevision]) : 'gone';
}

async function current(deps: StoredPageDeps, eventId: string) {
  const [ev, pub, chapters] = await Promise.all([deps.catalog.getEvent(eventId), deps.publications.get(eventId), deps.chapters.chapters(eventId)]);
  return { ev, pub, stamp: stamp(ev, pub, chapters.revision) };
}

/** The status a page's state object gives: what a live page waits for. */
export type PageStatus = 'live' | 'published' | 'failed';

async function put(deps: StoredPageDeps, ev: EventRow, pub: Publication | undefined): Promise<void> {
  const { storage, config } = deps;
  const base = await replayPageBase(deps, ev, pub);
  const live = isLivePage(ev, pub);
  const csp = storedPageCsp({ mediaOrigins: [base.urls.audio], scriptUrls: base.hlsJsUrl ? [base.hlsJsUrl] : [] });
  const html = renderReplayPage({ ...base, metaCsp: csp });
  const cacheControl = live ? CACHE_CONTROL.revalidate : CACHE_CONTROL.short;
  const oembed = oembedFor({
    title: ev.title,
    host: ev.host ?? undefined,
    pageUrl: base.urls.page,
    cardUrl: base.urls.card,
    siteName: siteName(),
    siteUrl: config.publicUrl,
  });
  const status: PageStatus = pub ? 'published' : ev.status === 'failed' ? 'failed' : 'live';
  // The state last: a live page that sees "published" finds the replay in place.
  await storage.put(keys.page(ev.id), html, { contentType: 'text/html; charset=utf-8', cacheControl });
  await storage.put(keys.oembed(ev.id), JSON.stringify(oembed), { contentType: 'application/json; charset=utf-8', cacheControl });
  await storage.put(keys.pageState(ev.id), JSON.stringify({ status, revision: pub?.revision ?? 0 }), {
    contentType: 'application/json; charset=utf-8',
    cacheControl: CACHE_CONTROL.revalidate,
  });
}

/** Removes the stored page of an event that is gone (a write that lost a race with its deletion). */
async function remove(deps: StoredPageDeps, eventId: string): Promise<void> {
  for (const key of [keys.page(eventId), keys.oembed(eventId), keys.pageState(eventId)]) await deps.storage.delete(key);
}

/** Writes the event's page objects as the catalog stands; 'gone' for an unknown or deleted event. */
export async function writeStoredPage(eventId: string, deps: StoredPageDeps): Promise<'written' | 'gone'> {
  let now = await current(deps, eventId);
  for (let round = 0; round < MAX_ROUNDS; round++) {
    if (!now.ev || now.stamp === 'gone') return 'gone';
    await put(deps, now.ev, now.pub);
    const after = await current(deps, eventId);
    if (after.stamp === 'gone') {
      await remove(deps, eventId);
      return 'gone';
    }
    if (after.stamp === now.stamp) return 'written';
    now = after;
  }
  return 'written';
}
