// The stitched transcript kept between jobs (transcriber/event-stitch.ts):
// whatever was kept, what it returns is what stitching every finished window
// from the catalog gives, on both catalogs; windows finished since are
// appended, and a mark that no longer fits (windows changed or removed
// behind its back) means a stitch from scratch. Counts the windows it reads.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asWindow, eventStitch, forgetStitch } from '../transcriber/event-stitch.ts';
import { stitchWindows } from '../transcriber/stitch.ts';
import { TranscriberState, type WindowRow } from '../transcriber/state.ts';
import { DIALECTS, testDatabase, type TestDatabase } from './helpers/db.ts';

const seg = (startSec: number, endSec: number, text: string) => ({ startSec, endSec, text });

/** Window i covers [30i, 30i+30) and says two things, with the edge words of the next (which stitching drops). */
function window(i: number, text = `window ${i}`): WindowRow {
  return {
    startSec: 30 * i,
    endSec: 30 * i + 30,
    status: 'done',
    error: null,
    segments: [seg(0, 14, `${text} opens`), seg(14, 29.9, `${text} closes — é 🎙️ said`)],
  };
}

describe.each(DIALECTS)('the kept stitch on %s', (dialect) => {
  let t: TestDatabase;
  let state: TranscriberState;
  let read = 0;

  beforeAll(async () => {
    t = await testDatabase(dialect);
    state = new TranscriberState(t.db);
    const doneWindows = state.doneWindows.bind(state);
    state.doneWindows = async (eventId, fromSec) => {
      const rows = await doneWindows(eventId, fromSec);
      read += rows.length;
      return rows;
    };
  });
  afterAll(async () => {
    await t?.close();
  });

  const fromScratch = async (eventId: string) => stitchWindows((await state.windows(eventId)).filter((w) => w.status === 'done').map(asWindow));

  it('equals a stitch of every window, reading only the windows finished since', async () => {
    const id = 'ev_stitch00000001';
    for (let i = 0; i < 40; i++) await state.saveWindow(id, window(i));
    read = 0;
    const first = await eventStitch(state, id);
    expect(first.windows).toBe(40);
    expect(first.stitched?.segments).toEqual(await fromScratch(id));
    expect(read).toBe(40);

    // Nothing new: nothing read.
    read = 0;
    expect((await eventStitch(state, id)).stitched).toBe(first.stitched);
    expect(read).toBe(0);

    // A silent window and two finished ones later: only those two read.
    await state.saveWindow(id, { startSec: 1200, endSec: 1210, status: 'silent', segments: [], error: null });
    await state.saveWindow(id, { ...window(0), startSec: 1210, endSec: 1240 });
    await state.saveWindow(id, { ...window(1), startSec: 1240, endSec: 1270 });
    read = 0;
    const later = await eventStitch(state, id);
    expect(later.windows).toBe(42);
    expect(later.stitched?.segments).toEqual(await fromScratch(id));
    expect(read).toBe(2);
  });

  it('stitches from scratch when the windows changed behind its back', async () => {
    const id = 'ev_stitch00000002';
    for (let i = 0; i < 10; i++) await state.saveWindow(id, window(i));
    await eventStitch(state, id);

    // A window rewritten in place (its text longer): the mark no longer fits.
    await state.saveWindow(id, window(3, 'a window heard again'));
    read = 0;
    const rewritten = await eventStitch(state, id);
    expect(rewritten.stitched?.segments).toEqual(await fromScratch(id));
    expect(rewritten.stitched?.segments.some((s) => s.text.includes('a window heard again'))).toBe(true);
    expect(read).toBe(10);

    // One more window, but one before it is gone: appending would be wrong; stitched again instead.
    const windows = t.db.as<{ asr_windows: { event_id: string; start_sec: number } }>();
    await windows.deleteFrom('asr_windows').where('event_id', '=', id).where('start_sec', '=', 60).execute();
    await state.saveWindow(id, window(10));
    await state.saveWindow(id, window(11));
    const reshaped = await eventStitch(state, id);
    expect(reshaped.windows).toBe(11);
    expect(reshaped.stitched?.segments).toEqual(await fromScratch(id));

    // Forgotten: stitched again from the catalog, the same.
    forgetStitch(state, id);
    read = 0;
    expect((await eventStitch(state, id)).stitched?.segments).toEqual(await fromScratch(id));
    expect(read).toBe(11);
  });
});
