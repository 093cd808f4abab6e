// The composition root: wires config, the database, Redis, storage, queues,
// the stages' stores and workers, and the HTTP app together. Nothing else
// constructs them. Where a chunk goes next: shared/queues.ts names the
// queues and their messages; cli/jobs.ts says which stage's processor takes
// each one.
import { Worker, type Processor } from 'bullmq';
import { Redis, type RedisOptions } from 'ioredis';
import http from 'node:http';
import path from 'node:path';
import { ClipCatalog } from '../shared/catalog/clips.ts';
import { EventCatalog } from '../shared/catalog/events.ts';
import { ConfigError, ROLES, type Config, type Role } from '../shared/config.ts';
import { lockDataDir, type DataDirLock } from '../shared/data-dir.ts';
import { holderId } from '../shared/holder-id.ts';
import { leaseTimes } from '../shared/lease-times.ts';
import { openDatabase, type Db } from '../shared/db/database.ts';
import { migrate } from '../shared/db/migrate.ts';
import { assertPrograms, warmUpFfmpeg } from '../shared/ffmpeg.ts';
import { loadApiToken, requireToken } from '../shared/http.ts';
import type { Logger } from '../shared/log.ts';
import { gaugeFrom, metrics } from '../shared/metrics.ts';
import { AddressPolicy } from '../shared/net-policy.ts';
import { openQueues, redisConnection, withTimeout, type JobPayloads, type QueueName, type Queues } from '../shared/queues.ts';
import { startEmbeddedRedis, type EmbeddedRedis } from '../shared/redis-server.ts';
import { createStorage } from '../shared/storage/index.ts';
import { Recorder } from '../recorder/recorder.ts';
import { recorderRoutes } from '../recorder/routes.ts';
import { ReplicaLeases } from '../recorder/replica-leases.ts';
import { CaptureStore } from '../recorder/store.ts';
import { clipWriteRoutes } from '../transcoder/clip-routes.ts';
import { resetM4a } from '../transcoder/progressive-m4a.ts';
import { TranscoderState } from '../transcoder/state.ts';
import { recorderView } from '../recorder/view.ts';
import { transcoderView } from '../transcoder/view.ts';
import { transcriberRoutes, transcriberView } from '../transcriber/routes.ts';
import { TranscriberState } from '../transcriber/state.ts';
import { PublicationStore } from '../publisher/publication-store.ts';
import { publisherRoutes, publisherView } from '../publisher/routes.ts';
import { webhookRoutes } from '../publisher/webhook-routes.ts';
import { clipJson } from '../publisher/clips/clip-json.ts';
import { clipReadRoutes } from '../publisher/clips/routes.ts';
import { AudiogramStore } from '../publisher/audiograms/audiogram-store.ts';
import { requeueUnfinishedAudiograms } from '../publisher/audiograms/process-audiogram.ts';
import { writeFeed } from '../publisher/feed-document.ts';
import { chapterRoutes } from '../publisher/chapters/chapter-routes.ts';
import { ChapterStore } from '../publisher/chapters/chapter-store.ts';
import { oembedRoutes } from '../publisher/oembed-route.ts';
import { backfillStoredPages } from '../publisher/stored-backfill.ts';
import { WebhookStore } from '../publisher/webhook-store.ts';
import { emit, requeuePending } from '../publisher/webhooks.ts';
import { alertRoutes } from '../publisher/search/alert-routes.ts';
import { AlertStore } from '../publisher/search/alert-store.ts';
import { checkAlerts } from '../publisher/search/alerts.ts';
import { backfillSearchIndex } from '../publisher/search/backfill.ts';
import { RedisSnapshotStore } from '../publisher/search/cursor.ts';
import { SearchIndexWriter } from '../publisher/search/index-writer.ts';
import type { SearchIndexDeps } from '../publisher/search/process-segments.ts';
import { searchPageRoutes } from '../publisher/search/page-routes.ts';
import { searchRoutes } from '../publisher/search/routes.ts';
import { SearchEngine } from '../publisher/search/search.ts';
import { buildApp } from './http-app.ts';
import { opsRoutes } from './ops.ts';
import { requeuePurges } from './purge-event.ts';
import { requeueUnfinishedClips } from './requeue-clips.ts';
import { jobTable, type JobHandler } from './jobs.ts';
import { createWindowTranscriber } from '../transcriber/whisper-engine.ts';
import { MIGRATIONS } from './migrations.ts';

/** How long the end's stored page waits: past a publication's few seconds, so it does not compete with it. */
const ENDED_PAGE_DELAY_MS = 15_000;

export interface Service {
  url: string;
  token: string;
  tokenCreated: boolean;
  db: Db;
  catalog: EventCatalog;
  queues: Queues;
  recorder: Recorder;
  server: http.Server;
  close(): Promise<void>;
}

export async function startService(config: Config, log: Logger): Promise<Service> {
  // Before anything else: a second service on this data dir stops here, touching nothing.
  const lock = lockDataDir(config.dataDir);
  try {
    return await start(config, log, lock);
  } catch (err) {
    lock.release();
    throw err;
  }
}

/**
 * A process that runs only some roles works with others on other machines:
 * they must share the catalog, the queues and the storage.
 */
export function checkRoles(config: Config): void {
  if (config.roles.length === ROLES.length) return;
  const missing = [
    ...(config.databaseUrl ? [] : ['DATABASE_URL (PostgreSQL: SQLite lives in one data dir)']),
    ...(config.redisUrl ? [] : ['REDIS_URL (the embedded Redis lives in one data dir)']),
    ...(config.storage === 's3' ? [] : ['STORAGE=s3 (fs storage lives in one data dir)']),
  ];
  if (missing.length) {
    throw new ConfigError(
      `--role ${config.roles.join(',')} runs part of replay; the other parts run in other processes, which must share the catalog, the queues and the storage: set ${missing.join(', ')}`,
    );
  }
}

async function start(config: Config, log: Logger, lock: DataDirLock): Promise<Service> {
  checkRoles(config);
  const has = (role: Role) => config.roles.includes(role);
  assertPrograms(['ffmpeg', 'ffprobe', ...(config.redisUrl ? [] : ['redis-server'])]);
  await warmUpFfmpeg();
  const { token, created } = loadApiToken(config.dataDir, config.apiToken);

  const db = openDatabase({ url: config.databaseUrl, sqliteFile: path.join(config.dataDir, 'catalog.sqlite') });
  const ran = await migrate(db, MIGRATIONS);
  if (ran.length) log.info('catalog migrated', { database: db.dialect, migrations: ran.length });

  let redis: EmbeddedRedis | undefined;
  if (!config.redisUrl) redis = await startEmbeddedRedis(config.dataDir, log.child('redis'));
  const connection = redisConnection(config.redisUrl ?? redis!.socket);
  const prefix = process.env.REPLAY_QUEUE_PREFIX || 'replay';
  const queues = openQueues(connection, prefix);
  const storage = createStorage(config);
  // Every outgoing connection for a URL a user or a source gave (sources, playlists, redirects, webhooks).
  const policy = new AddressPolicy({ allowPrivate: config.allowPrivateSources, allowedHosts: config.allowedSourceHosts });

  // The shared event catalog, and each stage's own tables.
  const catalog = new EventCatalog(db);
  const clips = new ClipCatalog(db);
  const capture = new CaptureStore(db);
  const replicas = new ReplicaLeases(db);
  const transcoderState = new TranscoderState(db);
  const transcriberState = new TranscriberState(db);
  const publications = new PublicationStore(db);
  const chapters = new ChapterStore(db);
  /** What the feed is built from; it is written again whenever one of them changes what it lists. */
  const feedDeps = { catalog, storage, config, publications, chapters, clips };
  const refreshFeed = () => writeFeed(feedDeps);
  const audiograms = new AudiogramStore(db);
  const webhookStore = new WebhookStore(db);
  const webhooks = { store: webhookStore, queue: queues.get('webhook'), log: log.child('webhooks') };
  // Search: the index (written from the transcriber's messages), relevance rankings kept in Redis for paging, saved searches.
  const searchWriter = new SearchIndexWriter(db);
  const searchRedis = new Redis({ ...(connection as RedisOptions), maxRetriesPerRequest: 2 });
  searchRedis.on('error', () => {}); // reported by /readyz through the queues' connection
  const searchEngine = new SearchEngine(db, new RedisSnapshotStore(searchRedis, prefix));
  const alerts = new AlertStore(db);
  const alertDeps = { alerts, engine: searchEngine, webhooks, publicUrl: config.publicUrl, log: log.child('alerts') };
  const searchIndex: SearchIndexDeps = {
    catalog,
    storage,
    writer: searchWriter,
    log: log.child('search'),
    onIndexed: async (ev, rows) => {
      await checkAlerts(ev, rows, alertDeps);
    },
  };

  // Lifecycle webhooks are sent from here, so the recorder needs no knowledge of the publisher.
  const lifecycle = (type: 'event.started' | 'event.ended', eventId: string) => {
    // The stored page beside the media: the live page from the start, and where the event stands at its end.
    // The end's page is held back: the publication, seconds after the end, writes the replay page itself, and
    // rendering the ended page meanwhile would take CPU from it; the held job matters only if publishing is late.
    const delayMs = type === 'event.ended' ? ENDED_PAGE_DELAY_MS : undefined;
    withTimeout(queues.add('event-page', { eventId }, { delayMs }), 5000, 'queueing a page').catch((e: Error) =>
      log.warn('event page not queued', { event: eventId, err: e.message }),
    );
    void (async () => {
      const ev = await catalog.getEvent(eventId);
      if (ev) await emit(type, { id: ev.id, slug: ev.slug, title: ev.title, status: ev.status, createdAt: ev.createdAt, endedAt: ev.endedAt }, webhooks);
    })().catch((e: Error) => log.warn('webhook emit failed', { event: eventId, type, err: e.message }));
  };
  const recorder = new Recorder({
    catalog,
    capture,
    replicas,
    storage,
    queues,
    config,
    log,
    policy,
    onLifecycle: lifecycle,
    holder: holderId(config.dataDir),
    records: { push: has('api'), pull: has('recorder') },
  });

  const shutdown = new AbortController();
  // The transcriber's whisper.cpp servers (WHISPER_ENGINE): started with the first window, stopped at shutdown.
  const whisper = createWindowTranscriber(config, log.child('transcriber'));
  const jobs = jobTable(config, {
    recorder: { recorder, log: log.child('recorder'), retryMs: leaseTimes(config.leaseSec).retryMs },
    transcoder: {
      catalog,
      state: transcoderState,
      storage,
      config,
      log: log.child('transcoder'),
      queues,
      onPcmReady: (job) => queues.add('pcm-ready', job),
    },
    transcriber: { catalog, storage, config, log: log.child('transcriber'), state: transcriberState, queues, signal: shutdown.signal, whisper },
    publisher: { catalog, storage, config, log: log.child('publisher'), publications, webhooks, engine: searchEngine, chapters, clips },
    search: searchIndex,
    webhooks: { store: webhookStore, policy, log: log.child('webhooks') },
    clipCutter: { clips, state: transcoderState, storage, queues, log: log.child('transcoder') },
    clipPublisher: { clips, catalog, storage, config, webhooks, soundbiteReady: refreshFeed, log: log.child('publisher') },
    audiograms: { clips, catalog, store: audiograms, storage, engine: searchEngine, queues, webhooks, log: log.child('audiograms') },
    purge: {
      catalog,
      storage,
      log: log.child('purge'),
      forget: {
        recorder: (id) => capture.forgetEvent(id),
        // Their objects are under the event's prefix; their webhook deliveries are filed under their own ids.
        clips: async (id) => {
          for (const c of await clips.ofEvent(id)) await webhookStore.forgetEvent(c.id);
          await clips.forgetEvent(id);
        },
        // An audio.m4a upload still open (S3 multipart) is aborted, not left for the bucket's lifecycle rule.
        transcoder: async (id) => {
          await resetM4a({ state: transcoderState, storage }, id);
          await transcoderState.forgetEvent(id);
        },
        transcriber: (id) => transcriberState.forgetEvent(id),
        search: (id) => searchWriter.removeEvent(id),
        audiograms: (id) => audiograms.forgetEvent(id),
        alerts: (id) => alerts.forgetEvent(id),
        webhooks: (id) => webhookStore.forgetEvent(id),
        // The stored feed is rebuilt without it (its page objects go with its prefix).
        publisher: async (id) => {
          await publications.forgetEvent(id);
          await chapters.forgetEvent(id);
          await refreshFeed();
        },
      },
    },
  });
  // One BullMQ Worker per queue that this process's roles serve.
  const workers = (Object.keys(jobs) as QueueName[])
    .filter((name) => has(jobs[name].role))
    .map((name) => startWorker(name, jobs[name] as JobHandler<QueueName>));

  /** A job that used its last attempt leaves a visible failed range on its event, never a silent hole. */
  function startWorker<Q extends QueueName>(name: Q, handler: JobHandler<Q>): Worker {
    // A job's lock is renewed while it runs; a process that dies leaves its jobs to the others once the lock lapses (REPLAY_LEASE_SEC).
    const lock = handler.lock ?? { durationMs: config.leaseSec * 1000, maxStalledCount: 3 };
    const w = new Worker<JobPayloads[Q]>(name, handler.process as Processor<JobPayloads[Q]>, {
      connection,
      prefix,
      concurrency: handler.concurrency,
      lockDuration: lock.durationMs,
      stalledInterval: lock.stalledCheckMs ?? lock.durationMs / 2,
      maxStalledCount: lock.maxStalledCount,
    });
    w.on('failed', (job, err) => {
      metrics.jobs.inc({ queue: name, outcome: 'failed' });
      log.warn('job failed', { queue: name, job: job?.id, attempt: job?.attemptsMade, err: err.message });
      const f = job && job.attemptsMade >= (job.opts.attempts ?? 1) ? handler.onGiveUp?.(job.data) : undefined;
      if (f) void catalog.addFailure({ ...f, reason: `gave up after ${job!.attemptsMade} attempts: ${err.message}` }).catch(() => {});
    });
    w.on('error', (err) => log.warn('worker error', { queue: name, err: err.message }));
    w.on('completed', (job) => {
      metrics.jobs.inc({ queue: name, outcome: 'completed' });
      if (job.processedOn && job.finishedOn) metrics.jobSeconds.observe({ queue: name }, (job.finishedOn - job.processedOn) / 1000);
    });
    return w;
  }

  if (has('api') || has('recorder')) await recorder.start();
  if (has('api')) gaugeFrom('replay_live_events', 'Events being recorded now', () => catalog.liveTotal());
  if (has('transcoder')) {
    requeueUnfinishedClips(clips, queues)
      .then((n) => n && log.info('jobs of unfinished clips queued again', { clips: n }))
      .catch((e: Error) => log.warn('requeueing clips failed', { err: e.message }));
  }
  if (has('publisher')) {
    requeuePending(webhooks).catch(() => {});
    requeueUnfinishedAudiograms({ store: audiograms, queues })
      .then((n) => n && log.info('audiograms not rendered yet queued again', { audiograms: n }))
      .catch((e: Error) => log.warn('requeueing audiograms failed', { err: e.message }));
    requeuePurges(catalog, queues)
      .then((n) => n && log.info('purges of deleted events queued again', { events: n }))
      .catch((e: Error) => log.warn('requeueing purges failed', { err: e.message }));
    backfillStoredPages({ ...feedDeps, engine: searchEngine })
      .then((n) => n && log.info('pages stored for earlier publications', { events: n }))
      .catch((e: Error) => log.warn('storing pages of earlier publications failed', { err: e.message }));
    backfillSearchIndex(db, catalog, searchIndex)
      .then((n) => n && log.info('search index built for earlier recordings', { events: n }))
      .catch((e: Error) => log.warn('search index backfill failed', { err: e.message }));
  }

  /** A deleted event's purge, queued; if Redis is away the event stays deleted and the next start queues it. */
  const purgeLater = (eventId: string) =>
    withTimeout(queues.add('event-deleted', { eventId }), 5000, 'queueing a purge').catch((e: Error) =>
      log.warn('purge of a deleted event not queued; it will be at the next start', { event: eventId, err: e.message }),
    );
  const requireAuth = requireToken(token);
  const publisherRouteDeps = { ...feedDeps, engine: searchEngine };
  /** The stored page is written again by the publisher role (the event-page job). */
  const refreshPage = async (eventId: string) => void (await queues.add('event-page', { eventId }));
  const extensions = [
    recorderView(capture, replicas),
    transcoderView(transcoderState, storage),
    transcriberView(transcriberState, config),
    publisherView(publisherRouteDeps),
  ];
  const app = buildApp({
    config,
    token,
    storage,
    log,
    health: [opsRoutes({ db, queues, storage, token })],
    // Every process answers health checks; the API itself is the api role's.
    routes: has('api')
      ? [
          recorderRoutes({ catalog, capture, config, recorder, policy, requireAuth, extensions, onDeleted: purgeLater }),
          transcriberRoutes({ catalog, state: transcriberState }),
          clipWriteRoutes({
            catalog,
            clips,
            state: transcoderState,
            storage,
            queues,
            requireAuth,
            view: (clip, ev) => clipJson({ config, storage }, clip, ev),
            onDeleted: async (clip) => void (clip.soundbite && (await refreshFeed())),
            log: log.child('clips'),
          }),
          clipReadRoutes({ catalog, clips, config, storage, audiograms }),
          webhookRoutes({ store: webhookStore, policy, log: log.child('webhooks') }, requireAuth),
          searchRoutes({ catalog, engine: searchEngine, publicUrl: config.publicUrl }),
          alertRoutes({ alerts, catalog, webhookStore, policy, publicUrl: config.publicUrl, log: log.child('alerts') }, requireAuth),
          searchPageRoutes({ catalog, engine: searchEngine, publicUrl: config.publicUrl, publications, siteName: process.env.REPLAY_FEED_TITLE || 'Replay' }),
          publisherRoutes(publisherRouteDeps),
          chapterRoutes({ ...publisherRouteDeps, refreshPage, log: log.child('chapters') }, requireAuth),
          oembedRoutes({ catalog, clips, publications, storage, config }),
        ]
      : [],
  });

  // Idle and slow clients: a connection that sends nothing is closed after 10 s, and a request head must
  // arrive within 10 s (checked every 2 s). Pushed audio is a long-lived request, so there is no
  // whole-request timeout; other requests' sockets close after 30 s without traffic (idleRequests), and
  // push ingest has its own idle limit.
  const server = http.createServer({ headersTimeout: 10_000, requestTimeout: 0, connectionsCheckingInterval: 2_000 }, app);
  server.timeout = 10_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => resolve());
  });
  const url = config.publicUrl;

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      server.closeAllConnections?.();
      await new Promise((r) => server.close(() => r(undefined)));
      await recorder.close();
      shutdown.abort(); // a whisper run can take seconds: its job is retried after the restart
      // Let running jobs finish for a while; past that, leave them to stalled-job recovery on the next start.
      const graceful = Promise.all(workers.map((w) => w.close()));
      const timedOut = await Promise.race([graceful.then(() => false), new Promise<boolean>((r) => setTimeout(() => r(true), 8000))]);
      if (timedOut) await Promise.all(workers.map((w) => w.close(true)));
      await whisper.close();
      await queues.close();
      searchRedis.disconnect();
      await db.close();
      await redis?.stop();
      lock.release();
    })());

  return { url, token, tokenCreated: created, db, catalog, queues, recorder, server, close };
}
