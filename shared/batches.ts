// Work on many objects a few at a time: enough at once to keep storage busy,
// few enough not to queue thousands of operations behind one another (Node
// runs file operations on a pool of four threads) or to hold every body in
// memory at once.

/** `fn` over `items`, `size` at a time, results in the items' order. */
export async function inBatches<T, R>(items: readonly T[], size: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += size) out.push(...(await Promise.all(items.slice(i, i + size).map(fn))));
  return out;
}
