// The HTTP app: every stage's routes behind the service's security headers,
// timeouts and public-read limit, the fs storage's public files, and a JSON
// 404 for anything else. Wired by the composition root (service.ts).
import express, { type Express, type RequestHandler } from 'express';
import type { Config } from '../shared/config.ts';
import { errorHandler, hasToken, idleRequests, securityHeaders } from '../shared/http.ts';
import type { Logger } from '../shared/log.ts';
import { publicReadLimit } from '../shared/rate-limit.ts';
import { FsStorage, type PartitionedStorage } from '../shared/storage/index.ts';
import { serveFsStorage } from '../shared/storage/serve.ts';

export interface AppParts {
  config: Config;
  token: string;
  storage: PartitionedStorage;
  log: Logger;
  /** Routers that answer only on the readiness of what they depend on (health), mounted before the read limit. */
  health: RequestHandler[];
  /** The stages' routers, in order. */
  routes: RequestHandler[];
}

export function buildApp(p: AppParts): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', p.config.trustProxy);
  app.use(securityHeaders());
  app.use(idleRequests(30_000, /^\/ingest\//));
  for (const h of p.health) app.use(h);
  app.use(publicReadLimit({ perSec: p.config.limits.publicReadsPerSec, burst: p.config.limits.publicReadBurst, exempt: (req) => hasToken(req, p.token) }));
  for (const r of p.routes) app.use(r);
  // Only the public store is served; the source archive and work files are not (shared/storage/partitioned.ts).
  if (p.storage.publicStore instanceof FsStorage) app.use('/files', serveFsStorage(p.storage.publicStore));
  // Anything else: a JSON 404 that keeps the security headers (Express's own would replace the CSP).
  app.use((_req, res) => {
    res.status(404).json({ error: 'not found' });
  });
  app.use(errorHandler(p.log.child('http')));
  return app;
}
