// Milliseconds per step of a piece of work, for its log line: what the end of
// an event costs is what a listener waits for, so the stages that run then
// say where that time went.
export interface StepTimer {
  /** Closes the step running since the last lap (or the start) under `step`. */
  lap(step: string): void;
  /** Records under `step` the time since the last lap, without closing it: for steps run side by side. */
  mark(step: string): void;
  readonly laps: Record<string, number>;
}

export function stepTimer(): StepTimer {
  let last = performance.now();
  const laps: Record<string, number> = {};
  return {
    laps,
    lap(step) {
      const now = performance.now();
      laps[step] = Math.round(now - last);
      last = now;
    },
    mark(step) {
      laps[step] = Math.round(performance.now() - last);
    },
  };
}
