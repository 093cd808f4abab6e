// What operators and their tools read from every process: /healthz (the
// process is up), /readyz (Redis, the database and storage answer; 503
// naming what does not), /metrics (Prometheus text), and the queue dashboard
// (Bull Board) at /admin/queues behind the API token.
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import { Router, type RequestHandler } from 'express';
import type { Db } from '../shared/db/database.ts';
import { hasToken } from '../shared/http.ts';
import { exposition } from '../shared/metrics.ts';
import { QUEUE, withTimeout, type Queues } from '../shared/queues.ts';
import type { Storage } from '../shared/storage/storage.ts';

const CHECK_TIMEOUT_MS = 2000;

export interface OpsDeps {
  db: Db;
  queues: Queues;
  storage: Storage;
  token: string;
}

/** Each dependency this process needs, and how to ask it whether it answers. */
function readinessChecks(d: OpsDeps): Record<'redis' | 'database' | 'storage', () => Promise<unknown>> {
  return {
    // A command through the queues' own connection: what the stages depend on.
    redis: () => d.queues.get(QUEUE.record).getJobCounts('waiting'),
    database: () => d.db.ping(),
    // A key nobody writes: its absence is an answer, an unreachable store is not.
    storage: () => d.storage.head('readyz/probe'),
  };
}

/** The dashboard asks a browser for the token as a password (user name ignored); tools send it as a bearer token. */
function tokenOrBasic(token: string): RequestHandler {
  return (req, res, next) => {
    const basic = /^Basic\s+(\S+)$/i.exec(req.get('authorization') ?? '');
    const password = basic ? Buffer.from(basic[1], 'base64').toString('utf8').split(':').slice(1).join(':') : undefined;
    if (hasToken(req, token) || (password !== undefined && hasToken({ get: () => `Bearer ${password}` } as never, token))) return next();
    res
      .set('WWW-Authenticate', 'Basic realm="replay queues", charset="UTF-8"')
      .status(401)
      .json({ error: 'the queue dashboard needs the API token (as a bearer token, or as the password)' });
  };
}

export function opsRoutes(d: OpsDeps): Router {
  const r = Router();
  r.get('/healthz', (_req, res) => {
    res.json({ ok: true });
  });

  r.get('/readyz', async (_req, res) => {
    const results = await Promise.all(
      Object.entries(readinessChecks(d)).map(async ([name, check]) => {
        try {
          await withTimeout(check(), CHECK_TIMEOUT_MS, name);
          return [name, 'ok'] as const;
        } catch (e) {
          return [name, (e as Error).message] as const;
        }
      }),
    );
    const failing = results.filter(([, r]) => r !== 'ok');
    res.status(failing.length ? 503 : 200).json({
      ready: !failing.length,
      checks: Object.fromEntries(results.map(([n, r]) => [n, r === 'ok' ? 'ok' : 'failing'])),
      ...(failing.length ? { error: failing.map(([n, r]) => `${n}: ${r}`).join('; ') } : {}),
    });
  });

  r.get('/metrics', async (_req, res) => {
    const text = await exposition(() =>
      Promise.all(Object.values(QUEUE).map((q) => withTimeout(d.queues.get(q).exportPrometheusMetrics(), CHECK_TIMEOUT_MS, 'queue metrics').catch(() => ''))),
    );
    res.type('text/plain; version=0.0.4; charset=utf-8').send(text);
  });

  const board = new ExpressAdapter();
  board.setBasePath('/admin/queues');
  createBullBoard({ queues: Object.values(QUEUE).map((q) => new BullMQAdapter(d.queues.get(q))), serverAdapter: board });
  r.use('/admin/queues', tokenOrBasic(d.token), board.getRouter() as RequestHandler);
  return r;
}
