// The one rule for an event's status. Every change goes through
// EventCatalog.transition, which applies it only from an allowed status, in
// one conditional UPDATE, so two processes racing cannot break the rule:
//
//   live ──> ended ──> publishing ──> published ──> deleted
//     │        │           │                          ^
//     └────────┴───────────┴──> failed ───────────────┘
//
// A failed event is never published (a failed capture is never published), a
// published one is never published again (a publication happens once), and a
// status only moves forward. Only a finished event (published or failed) can
// be deleted: no stage works on it any more. A deleted event is a tombstone
// that the catalog's reads leave out, and every stage forgets its data.
// Repeating a change that already happened (a retried job) is allowed and
// changes nothing.
export const EVENT_STATUSES = ['live', 'ended', 'publishing', 'published', 'failed', 'deleted'] as const;
export type EventStatus = (typeof EVENT_STATUSES)[number];

/** The statuses an event may be in for it to move to `to` (`to` itself: a repeat, which changes nothing). */
export const ALLOWED_FROM: Record<EventStatus, readonly EventStatus[]> = {
  live: [],
  ended: ['live'],
  publishing: ['ended'],
  published: ['publishing'],
  failed: ['live', 'ended', 'publishing'],
  deleted: ['published', 'failed'],
};

export function canTransition(from: EventStatus, to: EventStatus): boolean {
  return ALLOWED_FROM[to].includes(from);
}
