// The one rule for an event's status. Every change goes through
// EventCatalog.transition, which applies it only from an allowed status, in
// one conditional UPDATE, so two processes racing cannot break the rule:
//
//   live ──> ended ──> publishing ──> published
//     │        │           │
//     └────────┴───────────┴──> failed
//
// A failed event never becomes anything else (a failed capture is never
// published), a published one never changes again (a publication happens
// once), and a status only moves forward. Repeating a change that already
// happened (a retried job) is allowed and changes nothing.
export const EVENT_STATUSES = ['live', 'ended', 'publishing', 'published', 'failed'] as const;
export type EventStatus = (typeof EVENT_STATUSES)[number];

/** The statuses an event may be in for it to move to `to` (`to` itself: a repeat, which changes nothing). */
export const ALLOWED_FROM: Record<EventStatus, readonly EventStatus[]> = {
  live: [],
  ended: ['live'],
  publishing: ['ended'],
  published: ['publishing'],
  failed: ['live', 'ended', 'publishing'],
};

export function canTransition(from: EventStatus, to: EventStatus): boolean {
  return ALLOWED_FROM[to].includes(from);
}
