// The recorder's fields of the event JSON: which process records the event
// now (none once it ended, or while nobody holds it) and how many times
// another process took it over from a previous holder (a failover, or a push
// that reached another API process).
import type { EventRow } from '../shared/catalog/events.ts';
import type { CaptureStore } from './store.ts';

export function recorderView(capture: CaptureStore) {
  return async (events: EventRow[]): Promise<Record<string, unknown>[]> => {
    const held = await capture.holdersOf(events.map((e) => e.id));
    return events.map((ev) => {
      const h = held.get(ev.id);
      return { capture: { holder: ev.status === 'live' ? (h?.holder ?? null) : null, takeovers: h?.takeovers ?? 0 } };
    });
  };
}
