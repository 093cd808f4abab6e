// The composition root: wires config, Redis, catalog, storage, queues, the
// stages' workers and the HTTP app together. Nothing else constructs them.
import express from 'express';
import type http from 'node:http';
import path from 'node:path';
import { Catalog } from '../shared/catalog.ts';
import type { Config } from '../shared/config.ts';
import { assertPrograms } from '../shared/ffmpeg.ts';
import { errorHandler, loadApiToken, requireToken } from '../shared/http.ts';
import type { Logger } from '../shared/log.ts';
import { openQueues, redisConnection, type Queues } from '../shared/queues.ts';
import { startEmbeddedRedis, type EmbeddedRedis } from '../shared/redis-server.ts';
import { createStorage, FsStorage } from '../shared/storage/index.ts';
import { serveFsStorage } from '../shared/storage/serve.ts';
import { Recorder } from '../recorder/recorder.ts';
import { recorderRoutes } from '../recorder/routes.ts';

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
  assertPrograms(['ffmpeg', 'ffprobe', ...(config.redisUrl ? [] : ['redis-server'])]);
  const { token, created } = loadApiToken(config.dataDir, config.apiToken);

  let redis: EmbeddedRedis | undefined;
  if (!config.redisUrl) redis = await startEmbeddedRedis(config.dataDir, log.child('redis'));
  const connection = redisConnection(config.redisUrl ?? redis!.socket);

  const catalog = new Catalog(path.join(config.dataDir, 'catalog.sqlite'));
  const storage = createStorage(config);
  const queues = openQueues(connection, process.env.REPLAY_QUEUE_PREFIX || 'replay');

  const recorder = new Recorder({ catalog, storage, queues, config, log });
  recorder.start();

  const requireAuth = requireToken(token);
  const app = express();
  app.disable('x-powered-by');
  app.get('/healthz', (_req, res) => {
    res.json({ ok: true });
  });
  // No publisher stage is wired yet: say so, so `replay record --wait` stops at "ended".
  const extensions = [() => ({ publishing: false })];
  app.use(recorderRoutes({ catalog, config, recorder, requireAuth, extensions }));
  if (storage instanceof FsStorage) app.use('/files', serveFsStorage(storage));
  app.use(errorHandler(log.child('http')));

  const server = await new Promise<http.Server>((resolve, reject) => {
    const s = app.listen(config.port, config.host, () => resolve(s));
    s.once('error', reject);
  });
  // Pushed audio is a long-lived request: no request timeout.
  server.requestTimeout = 0;
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : config.port;
  const url = config.publicUrl.includes(`:${config.port}`) ? config.publicUrl.replace(`:${config.port}`, `:${port}`) : config.publicUrl;

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      server.closeAllConnections?.();
      await new Promise((r) => server.close(() => r(undefined)));
      await recorder.close();
      await queues.close();
      catalog.close();
      await redis?.stop();
    })());

  return { url, token, tokenCreated: created, catalog, queues, recorder, server, close };
}
