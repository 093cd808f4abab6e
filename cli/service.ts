// The composition root: wires config, Redis, catalog, storage, queues, the
// stages' workers and the HTTP app together. Nothing else constructs them.
// Where a chunk goes next: shared/queues.ts names the queues; the workers
// below say which stage's processor takes each one.
import { Worker, type Job, type Processor } from 'bullmq';
import express from 'express';
import http from 'node:http';
import path from 'node:path';
import { Catalog } from '../shared/catalog.ts';
import type { Config } from '../shared/config.ts';
import { lockDataDir, type DataDirLock } from '../shared/data-dir.ts';
import { assertPrograms, warmUpFfmpeg } from '../shared/ffmpeg.ts';
import { errorHandler, hasToken, idleRequests, loadApiToken, requireToken, securityHeaders } from '../shared/http.ts';
import type { Logger } from '../shared/log.ts';
import { AddressPolicy } from '../shared/net-policy.ts';
import { openQueues, QUEUE, redisConnection, type QueueName, type Queues } from '../shared/queues.ts';
import { publicReadLimit } from '../shared/rate-limit.ts';
import { startEmbeddedRedis, type EmbeddedRedis } from '../shared/redis-server.ts';
import { createStorage, FsStorage } from '../shared/storage/index.ts';
import { serveFsStorage } from '../shared/storage/serve.ts';
import { Recorder } from '../recorder/recorder.ts';
import { recorderRoutes } from '../recorder/routes.ts';
import { processChunkArchived } from '../transcoder/process-chunk.ts';
import { processEventEnded } from '../transcoder/process-ended.ts';
import { TranscoderState } from '../transcoder/state.ts';
import { transcoderView } from '../transcoder/view.ts';
import { processPcmReady } from '../transcriber/process-pcm.ts';
import { transcriberRoutes, transcriberView } from '../transcriber/routes.ts';
import { TranscriberState } from '../transcriber/state.ts';
import { processRenditionReady, processTranscriptReady } from '../publisher/process-jobs.ts';
import { PublicationStore } from '../publisher/publication-store.ts';
import type { PublisherDeps } from '../publisher/publish.ts';
import { publisherRoutes, publisherView } from '../publisher/routes.ts';
import { webhookRoutes } from '../publisher/webhook-routes.ts';
import { WebhookStore } from '../publisher/webhook-store.ts';
import { emit, processWebhook, requeuePending } from '../publisher/webhooks.ts';

export interface Service {
  url: string;
  token: string;
  tokenCreated: boolean;
  catalog: Catalog;
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

async function start(config: Config, log: Logger, lock: DataDirLock): Promise<Service> {
  assertPrograms(['ffmpeg', 'ffprobe', ...(config.redisUrl ? [] : ['redis-server'])]);
  await warmUpFfmpeg();
  const { token, created } = loadApiToken(config.dataDir, config.apiToken);

  let redis: EmbeddedRedis | undefined;
  if (!config.redisUrl) redis = await startEmbeddedRedis(config.dataDir, log.child('redis'));
  const connection = redisConnection(config.redisUrl ?? redis!.socket);
  const prefix = process.env.REPLAY_QUEUE_PREFIX || 'replay';

  const catalog = new Catalog(path.join(config.dataDir, 'catalog.sqlite'));
  const storage = createStorage(config);
  const queues = openQueues(connection, prefix);
  // Every outgoing connection for a URL a user or a source gave (sources, playlists, redirects, webhooks).
  const policy = new AddressPolicy({ allowPrivate: config.allowPrivateSources, allowedHosts: config.allowedSourceHosts });

  // Stage state (each stage's own tables in the shared catalog).
  const transcoderState = new TranscoderState(catalog);
  const transcriberState = new TranscriberState(catalog);
  const publications = new PublicationStore(catalog);
  const webhookStore = new WebhookStore(catalog.db);
  const webhooks = { store: webhookStore, queue: queues.webhook, log: log.child('webhooks') };

  // Lifecycle webhooks are sent from here, so the recorder needs no knowledge of the publisher.
  const lifecycle = (type: 'event.started' | 'event.ended', eventId: string) => {
    const ev = catalog.getEvent(eventId);
    if (!ev) return;
    emit(type, { id: ev.id, slug: ev.slug, title: ev.title, status: ev.status, createdAt: ev.createdAt, endedAt: ev.endedAt }, webhooks).catch((e) =>
      log.warn('webhook emit failed', { event: eventId, type, err: e.message }),
    );
  };
  const recorder = new Recorder({ catalog, storage, queues, config, log, policy, onLifecycle: lifecycle });

  const transcoderDeps = {
    catalog,
    storage,
    config,
    log: log.child('transcoder'),
    queues,
    onPcmReady: async (job: { eventId: string; key: string; startSec: number; durationSec: number }) => {
      await queues.pcmReady.add('pcm', job, { jobId: `${job.eventId}-pcm-${Math.round(job.startSec * 48000)}` });
    },
  };
  const shutdown = new AbortController();
  const transcriberDeps = { catalog, storage, config, log: log.child('transcriber'), state: transcriberState, queues, signal: shutdown.signal };
  const publisherDeps: PublisherDeps = { catalog, storage, config, log: log.child('publisher'), publications, webhooks };

  // One Worker per queue; concurrency 1 where a stage is CPU-bound or keeps per-event order.
  const workers: Worker[] = [];
  // A job that has used its last attempt leaves a visible failed range on its event, never a silent hole.
  const lastFailure: Partial<Record<QueueName, (data: any) => { eventId: string; stage: string; startSec: number | null; endSec: number | null } | undefined>> = {
    [QUEUE.chunkArchived]: (d) => ({ eventId: d.eventId, stage: 'transcoder', startSec: d.startSec, endSec: d.startSec + d.durationSec }),
  };
  const work = <T>(name: QueueName, processor: (job: Job<T>) => Promise<unknown>, concurrency = 1) => {
    const w = new Worker<T>(name, processor as Processor<T>, { connection, prefix, concurrency });
    w.on('failed', (job, err) => {
      log.warn('job failed', { queue: name, job: job?.id, attempt: job?.attemptsMade, err: err.message });
      const f = job && job.attemptsMade >= (job.opts.attempts ?? 1) ? lastFailure[name]?.(job.data) : undefined;
      if (f && catalog.getEvent(f.eventId)) catalog.addFailure({ ...f, reason: `gave up after ${job!.attemptsMade} attempts: ${err.message}` });
    });
    w.on('error', (err) => log.warn('worker error', { queue: name, err: err.message }));
    workers.push(w);
  };
  work(QUEUE.chunkArchived, (job) => processChunkArchived(job, transcoderDeps));
  work(QUEUE.eventEnded, (job: Job<any>) => processEventEnded(job, transcoderDeps));
  work(QUEUE.pcmReady, (job: Job<any>) => processPcmReady(job, transcriberDeps));
  work(QUEUE.renditionReady, (job: Job<any>) => processRenditionReady(job, publisherDeps), 2);
  work(QUEUE.transcriptReady, (job: Job<any>) => processTranscriptReady(job, publisherDeps));
  work(QUEUE.webhook, (job: Job<any>) => processWebhook(job, { store: webhookStore, policy, log: log.child('webhooks') }), 4);

  recorder.start();
  requeuePending(webhooks).catch(() => {});

  const requireAuth = requireToken(token);
  const publisherRouteDeps = { catalog, storage, config, publications };
  const extensions = [transcoderView(transcoderState, storage), transcriberView(transcriberState, config), publisherView(publisherRouteDeps)];
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', config.trustProxy);
  app.use(securityHeaders());
  app.use(idleRequests(30_000, /^\/ingest\//));
  app.get('/healthz', (_req, res) => {
    res.json({ ok: true });
  });
  app.use(publicReadLimit({ perSec: config.limits.publicReadsPerSec, burst: config.limits.publicReadBurst, exempt: (req) => hasToken(req, token) }));
  app.use(recorderRoutes({ catalog, config, recorder, policy, requireAuth, extensions }));
  app.use(transcriberRoutes({ catalog, state: transcriberState }));
  app.use(webhookRoutes({ store: webhookStore, policy, log: log.child('webhooks') }, requireAuth));
  app.use(publisherRoutes(publisherRouteDeps));
  // Only the public store is served; the source archive and work files are not (shared/storage/partitioned.ts).
  if (storage.publicStore instanceof FsStorage) app.use('/files', serveFsStorage(storage.publicStore));
  // Anything else: a JSON 404 that keeps the security headers (Express's own would replace the CSP).
  app.use((_req, res) => {
    res.status(404).json({ error: 'not found' });
  });
  app.use(errorHandler(log.child('http')));

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
      await queues.close();
      catalog.close();
      await redis?.stop();
      lock.release();
    })());

  return { url, token, tokenCreated: created, catalog, queues, recorder, server, close };
}
