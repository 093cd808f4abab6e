// shared/settled.ts: work run side by side has all stopped before its first failure is passed on.
import { describe, expect, it } from 'vitest';
import { allOrFirstError } from '../shared/settled.ts';

/** f's value (or its error) after ms milliseconds. */
async function later<T>(ms: number, f: () => T): Promise<T> {
  await new Promise((r) => setTimeout(r, ms));
  return f();
}

describe('allOrFirstError', () => {
  it('gives the values in order', async () => {
    const [a, b] = allOrFirstError(await Promise.allSettled([later(20, () => 1), later(5, () => 'two')]));
    expect([a, b]).toEqual([1, 'two']);
  });

  it('throws the first failure only once every part has stopped', async () => {
    let slowDone = false;
    const run = async () =>
      allOrFirstError(
        await Promise.allSettled([
          later(1, () => {
            throw new Error('first');
          }),
          later(40, () => {
            slowDone = true;
          }),
          later(5, () => {
            throw new Error('second');
          }),
        ]),
      );
    await expect(run()).rejects.toThrow('first');
    expect(slowDone).toBe(true);
  });
});
