// How REPLAY_LEASE_SEC is spent. The promise it makes: when a process dies,
// its live events and jobs are taken over by another within that time. So
// every step of a takeover fits inside it, with room to spare: a capture
// lease lapses within 0.6 of it (renewed every 0.2, so two renewals may be
// late before a healthy holder loses an event), a dead worker's record job
// is back in the queue within 0.45 (its lock lapses at 0.3, checked every
// 0.15), and a waiting recorder asks again every 0.1.

export interface LeaseTimes {
  /** How long a capture lease holds from its last renewal. */
  validMs: number;
  /** How often a holder renews all its leases. */
  renewMs: number;
  /** How often a process waiting for an event (a record job, a push) tries again. */
  retryMs: number;
  /** A job's lock (renewed while it runs, every half of it). */
  jobLockMs: number;
  /** How often workers look for jobs whose lock lapsed (their process died). */
  stalledCheckMs: number;
}

export function leaseTimes(leaseSec: number): LeaseTimes {
  const l = leaseSec * 1000;
  return { validMs: 0.6 * l, renewMs: 0.2 * l, retryMs: 0.1 * l, jobLockMs: 0.3 * l, stalledCheckMs: 0.15 * l };
}
