// Work run side by side that must all have stopped before a failure is passed
// on: a job that failed is retried, and the retry must not find a part of the
// failed attempt still writing. Promise.all rejects at the first failure and
// leaves the rest running; Promise.allSettled waits for every part, and this
// turns its results back into values, or the first failure.

/** The settled results' values in order, or the first rejected one's reason thrown. */
export function allOrFirstError<T extends readonly unknown[]>(results: { [K in keyof T]: PromiseSettledResult<T[K]> }): T {
  const values: unknown[] = [];
  for (const r of results as readonly PromiseSettledResult<unknown>[]) {
    if (r.status === 'rejected') throw r.reason;
    values.push(r.value);
  }
  return values as unknown as T;
}
