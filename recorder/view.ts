// The recorder's fields of the event JSON: which process records the event
// now (none once it ended, or while nobody holds it) and how many times
// another process took it over from a previous holder (a failover, or a push
// that reached another API process).
import type { EventRow } from '../shared/catalog/events.ts';
import type { ReplicaLeases } from './replica-leases.ts';
import type { CaptureStore } from './store.ts';

export function recorderView(capture: CaptureStore, replicas: ReplicaLeases) {
  return async (events: EventRow[]): Promise<Record<string, unknown>[]> => {
    const ids = events.map((e) => e.id);
    const [held, slots] = await Promise.all([capture.holdersOf(ids), replicas.slotsOf(ids)]);
    return events.map((ev) => {
      const h = held.get(ev.id);
      const live = ev.status === 'live';
      const places = slots.get(ev.id) ?? [];
      return {
        redundancy: 1 + places.length,
        capture: {
          holder: live ? (h?.holder ?? null) : null,
          takeovers: h?.takeovers ?? 0,
          // The extra recorders of a redundant HLS capture, place by place.
          replicas: places.map((p) => ({ slot: p.slot, holder: live ? p.holder : null, takeovers: p.takeovers })),
        },
      };
    });
  };
}
