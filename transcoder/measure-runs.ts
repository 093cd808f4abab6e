// The waveform and loudness of the whole event, merged while it runs, so the
// end reads a few rows whatever the length. Each segment records its share
// of both (peaks per 50 ms pixel, K-weighted energy per 100 ms cell); every
// run of RUN_SEGMENTS segments of the playable prefix becomes one merged row,
// stored compactly (int8 peaks, float64 sums, base64). At the end the whole
// event's figures are merged from the runs and the segments after the last
// one: the same numbers as from every segment (min and max are exact, and the
// sums are added in the same order), from about a hundredth of the rows.
//
//   measure_runs  one row per run: segments [from_k, to_k), its merged peaks
//                 and loudness cells
//
// A run is recorded after its segments; a repeated job finds it recorded. A
// rendition whose end is rebuilt drops the runs that reach into it.
import type { Kysely } from 'kysely';
import type { Db } from '../shared/db/database.ts';
import { deleteEventRows } from '../shared/db/forget.ts';
import type { Migrations } from '../shared/db/migrate.ts';
import { mergeLoudnessParts, mergePeaksParts, type LoudnessPart, type PeaksPart } from './analysis.ts';

/** Segments per run: 100 segments of 6 s, 10 minutes. */
export const RUN_SEGMENTS = 100;

interface RunsTable {
  event_id: string;
  run_no: number;
  from_k: number;
  to_k: number;
  first_pixel: number;
  /** int8 min/max pairs, base64. */
  peaks: string;
  first_cell: number;
  /** float64 little-endian cell sums, base64. */
  cells: string;
  sample_peak: number;
  true_peak: number;
}

export interface MeasureRun {
  runNo: number;
  fromK: number;
  toK: number;
  peaks: PeaksPart;
  loudness: LoudnessPart;
}

const encodePeaks = (data: ArrayLike<number>) => Buffer.from(Int8Array.from(data).buffer).toString('base64');
// Read back as typed arrays, not copied into number arrays: the end merges every run (a 10-hour event's cells are 2.9 MB).
const decodePeaks = (text: string) => new Int8Array(new Uint8Array(Buffer.from(text, 'base64')).buffer);
const encodeCells = (sums: ArrayLike<number>) => Buffer.from(Float64Array.from(sums).buffer).toString('base64');
const decodeCells = (text: string) => new Float64Array(new Uint8Array(Buffer.from(text, 'base64')).buffer);

export class MeasureRuns {
  private readonly db: Kysely<{ measure_runs: RunsTable }>;

  constructor(db: Db) {
    this.db = db.as<{ measure_runs: RunsTable }>();
  }

  async runs(eventId: string): Promise<MeasureRun[]> {
    const rows = await this.db.selectFrom('measure_runs').selectAll().where('event_id', '=', eventId).orderBy('run_no').execute();
    return rows.map((r) => ({
      runNo: r.run_no,
      fromK: r.from_k,
      toK: r.to_k,
      peaks: { firstPixel: Number(r.first_pixel), data: decodePeaks(r.peaks) },
      loudness: { firstCell: Number(r.first_cell), sums: decodeCells(r.cells), samplePeak: r.sample_peak, truePeak: r.true_peak },
    }));
  }

  /** Where the next run starts (the last run's end), without reading the runs' data. */
  async nextRun(eventId: string): Promise<{ runNo: number; fromK: number }> {
    const r = await this.db
      .selectFrom('measure_runs')
      .select(['run_no', 'to_k'])
      .where('event_id', '=', eventId)
      .orderBy('run_no', 'desc')
      .limit(1)
      .executeTakeFirst();
    return r ? { runNo: r.run_no + 1, fromK: r.to_k } : { runNo: 1, fromK: 0 };
  }

  /** Merges the measurements of segments [fromK, fromK + parts.length) into run `runNo`. Idempotent. */
  async addRun(eventId: string, runNo: number, fromK: number, parts: { peaks: PeaksPart; loudness: LoudnessPart }[]): Promise<void> {
    const peaks = mergePeaksParts(parts.map((p) => p.peaks));
    const loudness = mergeLoudnessParts(parts.map((p) => p.loudness));
    await this.db
      .insertInto('measure_runs')
      .values({
        event_id: eventId,
        run_no: runNo,
        from_k: fromK,
        to_k: fromK + parts.length,
        first_pixel: peaks.firstPixel,
        peaks: encodePeaks(peaks.data),
        first_cell: loudness.firstCell,
        cells: encodeCells(loudness.sums),
        sample_peak: loudness.samplePeak,
        true_peak: loudness.truePeak,
      })
      .onConflict((oc) => oc.columns(['event_id', 'run_no']).doNothing())
      .execute();
  }

  /** Drops the runs holding segment `k` or later (the rendition's end is being made again). */
  async dropFrom(eventId: string, k: number): Promise<void> {
    await this.db.deleteFrom('measure_runs').where('event_id', '=', eventId).where('to_k', '>', k).execute();
  }

  async forgetEvent(eventId: string): Promise<void> {
    await deleteEventRows(this.db, ['measure_runs'], eventId);
  }
}

export const measureRunMigrations: Migrations = {
  '2026-12-09-transcoder-measure-runs-1': {
    async up(db) {
      await db.schema
        .createTable('measure_runs')
        .ifNotExists()
        .addColumn('event_id', 'text', (c) => c.notNull())
        .addColumn('run_no', 'integer', (c) => c.notNull())
        .addColumn('from_k', 'integer', (c) => c.notNull())
        .addColumn('to_k', 'integer', (c) => c.notNull())
        .addColumn('first_pixel', 'bigint', (c) => c.notNull())
        .addColumn('peaks', 'text', (c) => c.notNull())
        .addColumn('first_cell', 'bigint', (c) => c.notNull())
        .addColumn('cells', 'text', (c) => c.notNull())
        .addColumn('sample_peak', 'double precision', (c) => c.notNull())
        .addColumn('true_peak', 'double precision', (c) => c.notNull())
        .addPrimaryKeyConstraint('measure_runs_pk', ['event_id', 'run_no'])
        .execute();
    },
  },
};
