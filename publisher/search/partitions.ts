// PostgreSQL keeps search_segments in partitions by id range, newest last.
// Why: a GIN index hands out its matches in no order, so "the newest 1,001
// matches of a word" on one big table visits every row that holds the word.
// Split by id, an ordered LIMIT reads the newest partition first and stops
// once it has enough: the cost follows the matches asked for, not the
// archive's size.
//
// Ids come from a sequence (PostgreSQL 15 has no identity column on a
// partitioned table). The writer keeps at least one empty partition ahead of
// the sequence; a new one is made beside the table and then attached, which
// never blocks readers (creating it as PARTITION OF would lock them out).
// Processes writing together take turns through an advisory lock, and every
// step checks what exists first, so a repeated or concurrent run adds
// nothing twice.
import { sql, type Kysely } from 'kysely';

/** Ids per partition: about 330 hours of audio at 150 words a minute. */
export const PARTITION_ROWS = 200_000;

export const SEGMENT_ID_SEQUENCE = 'search_segment_ids';

const PARTITION_NAME = /^search_segments_p(\d+)$/;
const partitionName = (k: number) => `search_segments_p${k}`;

/** Partition k holds ids [k·PARTITION_ROWS, (k+1)·PARTITION_ROWS). */
async function attachPartition(db: Kysely<unknown>, parent: string, k: number): Promise<void> {
  const name = sql.id(partitionName(k));
  const [from, to] = [k * PARTITION_ROWS, (k + 1) * PARTITION_ROWS];
  await sql`CREATE TABLE IF NOT EXISTS ${name} (LIKE ${sql.id(parent)} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)`.execute(db);
  // The range as a constraint first: ATTACH then knows every row fits without reading them.
  await sql`ALTER TABLE ${name} ADD CONSTRAINT ${sql.id(`${partitionName(k)}_range`)} CHECK (id >= ${sql.lit(from)} AND id < ${sql.lit(to)})`.execute(db);
  await sql`ALTER TABLE ${sql.id(parent)} ATTACH PARTITION ${name} FOR VALUES FROM (${sql.lit(from)}) TO (${sql.lit(to)})`.execute(db);
}

/** The partitions `parent` has, by number. */
async function partitionNumbers(db: Kysely<unknown>, parent: string): Promise<number[]> {
  const r = await sql<{ name: string }>`SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
    WHERE i.inhparent = to_regclass(${parent})`.execute(db);
  return r.rows.flatMap((row) => {
    const m = PARTITION_NAME.exec(row.name);
    return m ? [Number(m[1])] : [];
  });
}

/**
 * Makes sure partitions cover ids [fromId, upTo), adding the missing ones
 * after the last existing one (ids only grow, so a hole below `fromId` is
 * never needed). Returns the first id not covered.
 */
export async function coverIds(db: Kysely<unknown>, parent: string, fromId: number, upTo: number): Promise<number> {
  const have = await partitionNumbers(db, parent);
  const next = have.length ? Math.max(...have) + 1 : 0;
  const last = Math.ceil(upTo / PARTITION_ROWS);
  for (let k = Math.max(next, Math.floor(fromId / PARTITION_ROWS)); k < last; k++) await attachPartition(db, parent, k);
  return Math.max(next, last) * PARTITION_ROWS;
}

/** Keeps a partition's worth of ids ahead of the sequence, for one writer process. */
export class SegmentPartitions {
  /** Ids below this are known to have a partition. */
  private covered = 0;

  constructor(private readonly db: Kysely<unknown>) {}

  /** After writing up to `lastId`: more room if less than a partition's worth is left. */
  async afterWrite(lastId: number | null): Promise<void> {
    if (lastId !== null && lastId + PARTITION_ROWS < this.covered) return;
    await this.makeRoom();
  }

  /** Partitions for the sequence's next PARTITION_ROWS ids, whatever this process knew. */
  async makeRoom(): Promise<void> {
    this.covered = await this.db.transaction().execute(async (trx) => {
      await sql`SELECT pg_advisory_xact_lock(hashtext('replay search_segments partitions'))`.execute(trx);
      const seq = await sql<{ last: number }>`SELECT last_value AS last FROM ${sql.id(SEGMENT_ID_SEQUENCE)}`.execute(trx);
      const next = Number(seq.rows[0].last) + 1;
      return coverIds(trx, 'search_segments', next, next + PARTITION_ROWS);
    });
  }
}

/** PostgreSQL's "no partition of relation … found for row": an id past the partitions (an insert made room too late). */
export const isMissingPartition = (e: unknown) =>
  typeof e === 'object' && e !== null && (e as { code?: unknown }).code === '23514' && /no partition/i.test(String((e as { message?: unknown }).message));
