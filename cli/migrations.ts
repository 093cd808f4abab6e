// Every stage's migrations, in one list: run at start on either database
// (shared/db/migrate.ts), and by the tests on both.
import { clipMigrations } from '../shared/catalog/clips.ts';
import { catalogMigrations } from '../shared/catalog/migrations.ts';
import type { Migrations } from '../shared/db/migrate.ts';
import { publisherMigrations } from '../publisher/migrations.ts';
import { audiogramMigrations } from '../publisher/audiograms/audiogram-store.ts';
import { alertMigrations } from '../publisher/search/alert-store.ts';
import { chapterMigrations } from '../publisher/chapters/chapter-store.ts';
import { searchMigrations } from '../publisher/search/tables.ts';
import { replicaMigrations } from '../recorder/replica-leases.ts';
import { recorderMigrations } from '../recorder/store.ts';
import { m4aMigrations } from '../transcoder/m4a-state.ts';
import { measureRunMigrations } from '../transcoder/measure-runs.ts';
import { partMigrations } from '../transcoder/part-state.ts';
import { transcoderMigrations } from '../transcoder/state.ts';
import { transcriberMigrations } from '../transcriber/state.ts';

export const MIGRATIONS: Migrations[] = [
  catalogMigrations,
  clipMigrations,
  recorderMigrations,
  replicaMigrations,
  transcoderMigrations,
  m4aMigrations,
  measureRunMigrations,
  partMigrations,
  transcriberMigrations,
  publisherMigrations,
  searchMigrations,
  alertMigrations,
  chapterMigrations,
  audiogramMigrations,
];
