// Outgoing webhooks, signed the Standard Webhooks way
// (https://www.standardwebhooks.com): every message carries
//   webhook-id         the delivery's stable id (receivers deduplicate on it)
//   webhook-timestamp  unix seconds of this attempt
//   webhook-signature  v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">
// keyed with the base64-decoded part of the endpoint's `whsec_` secret.
//
// emit() writes one delivery row per subscribed endpoint (idempotent) and
// queues one BullMQ job per row; processWebhook() makes one attempt per job
// run and throws on failure, so BullMQ's exponential backoff does the retries.
//
// Endpoint URLs are hostile input: only http(s), no credentials, and the
// service's one address policy (shared/net-policy.ts): checked at
// registration and again at every connect (IP literals before connecting,
// names inside the DNS lookup), so DNS rebinding cannot route a delivery inward.
import crypto from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import { UnrecoverableError, type Job, type JobsOptions, type Queue } from 'bullmq';
import { log as rootLog, type Logger } from '../shared/log.ts';
import { BlockedAddressError, type AddressPolicy } from '../shared/net-policy.ts';
import { jobOptions, QUEUE_SPECS, withTimeout, type WebhookJob } from '../shared/queues.ts';
import { ALERT_EVENT_TYPE, isWebhookEventType, type WebhookDelivery, type WebhookEventType, type WebhookStore } from './webhook-store.ts';

export { generateSecret, WEBHOOK_EVENT_TYPES, type WebhookEventType } from './webhook-store.ts';

// ---- signing

function secretKey(secret: string): Buffer {
  const b64 = secret.startsWith('whsec_') ? secret.slice('whsec_'.length) : secret;
  const key = Buffer.from(b64, 'base64');
  if (key.length === 0) throw new TypeError('webhook secret is empty or not base64');
  return key;
}

/** The `webhook-signature` value (`v1,<base64>`) for one message. */
export function sign(secret: string, msgId: string, timestampSec: number, body: string): string {
  const mac = crypto.createHmac('sha256', secretKey(secret)).update(`${msgId}.${timestampSec}.${body}`).digest('base64');
  return `v1,${mac}`;
}

/** The three Standard Webhooks headers for one attempt. */
export function signatureHeaders(secret: string, msgId: string, body: string, now: Date = new Date()): Record<string, string> {
  const ts = Math.floor(now.getTime() / 1000);
  return {
    'webhook-id': msgId,
    'webhook-timestamp': String(ts),
    'webhook-signature': sign(secret, msgId, ts, body),
  };
}

type HeaderBag = Headers | Record<string, string | string[] | undefined>;

function header(h: HeaderBag, name: string): string | undefined {
  if (typeof (h as Headers).get === 'function') return (h as Headers).get(name) ?? undefined;
  const bag = h as Record<string, string | string[] | undefined>;
  const key = Object.keys(bag).find((k) => k.toLowerCase() === name);
  const v = key === undefined ? undefined : bag[key];
  return Array.isArray(v) ? v[0] : v;
}

export interface VerifyOptions {
  /** Largest accepted distance between the timestamp and now, in seconds (default 300). */
  toleranceSec?: number;
  now?: Date;
}

/**
 * Checks a received message: the timestamp within tolerance and any of the
 * space-separated `v1,` signatures matching, compared in constant time.
 */
export function verify(secret: string, body: string | Buffer, headers: HeaderBag, opts: VerifyOptions = {}): boolean {
  const id = header(headers, 'webhook-id');
  const tsRaw = header(headers, 'webhook-timestamp');
  const sigs = header(headers, 'webhook-signature');
  if (!id || !tsRaw || !sigs || !/^\d{1,12}$/.test(tsRaw)) return false;
  const ts = Number(tsRaw);
  const nowSec = Math.floor((opts.now ?? new Date()).getTime() / 1000);
  if (Math.abs(nowSec - ts) > (opts.toleranceSec ?? 300)) return false;
  let expected: Buffer;
  try {
    expected = Buffer.from(sign(secret, id, ts, Buffer.isBuffer(body) ? body.toString('utf8') : body).slice(3), 'base64');
  } catch {
    return false;
  }
  let ok = false;
  for (const part of sigs.split(' ')) {
    const [version, value] = [part.slice(0, part.indexOf(',')), part.slice(part.indexOf(',') + 1)];
    if (version !== 'v1' || !value) continue;
    const got = Buffer.from(value, 'base64');
    if (got.length === expected.length && crypto.timingSafeEqual(got, expected)) ok = true;
  }
  return ok;
}

// ---- endpoint URLs

export class WebhookUrlError extends Error {}

/**
 * Validates an endpoint URL for registration and returns it normalized.
 * Throws WebhookUrlError (message fit for a 400 answer).
 */
export async function validateWebhookUrl(raw: unknown, policy: AddressPolicy): Promise<string> {
  if (typeof raw !== 'string' || raw.trim() === '') throw new WebhookUrlError('url is required');
  if (raw.length > 2000) throw new WebhookUrlError('url is too long');
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw new WebhookUrlError('url is not a valid absolute URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new WebhookUrlError('url must be http or https');
  if (url.username || url.password) throw new WebhookUrlError('url must not contain credentials');
  if (!url.hostname) throw new WebhookUrlError('url has no host');
  url.hash = '';
  try {
    await policy.checkResolved(url);
  } catch (err) {
    if (err instanceof BlockedAddressError) throw new WebhookUrlError(`url ${err.message}`);
    throw new WebhookUrlError(`url host could not be resolved (${(err as Error).message})`);
  }
  return url.toString();
}

// ---- delivery

export interface DeliverDeps {
  store: WebhookStore;
  policy: AddressPolicy;
  log?: Logger;
  now?: () => Date;
  /** Whole-request timeout (connect to response headers), default 10 s. */
  timeoutMs?: number;
}

export const WEBHOOK_USER_AGENT = 'replay-webhooks/1 (+https://www.standardwebhooks.com)';

/** POSTs once; resolves with the status code as soon as the response head arrives (the body is never read). */
function post(url: URL, body: string, headers: Record<string, string>, policy: AddressPolicy, timeoutMs: number): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    // A refused address throws here, which rejects the promise.
    const connect = policy.connectOptions(url);
    const mod = url.protocol === 'https:' ? https : http;
    const req = mod.request(
      url,
      {
        method: 'POST',
        agent: false,
        ...connect,
        headers: {
          ...headers,
          'content-type': 'application/json',
          'content-length': String(Buffer.byteLength(body)),
          'user-agent': WEBHOOK_USER_AGENT,
        },
      },
      (res) => {
        clearTimeout(timer);
        resolve(res.statusCode ?? 0);
        res.destroy(); // the body is ignored; redirects are not followed
      },
    );
    const timer = setTimeout(() => req.destroy(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs);
    req.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    req.end(body);
  });
}

function describe(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  const msg = e?.code && !String(e.message).includes(e.code) ? `${e.code}: ${e.message}` : String(e?.message ?? err);
  return msg.slice(0, 500);
}

export interface DeliverOptions {
  /** This is the last attempt: a failure marks the delivery failed instead of pending. */
  final?: boolean;
}

/**
 * Makes one delivery attempt. Resolves with the updated row when the endpoint
 * answered 2xx, or undefined when the delivery or its endpoint no longer
 * exists. Throws otherwise (UnrecoverableError when the address is refused),
 * after recording the attempt.
 */
export async function deliver(deliveryId: string, deps: DeliverDeps, opts: DeliverOptions = {}): Promise<WebhookDelivery | undefined> {
  const log = (deps.log ?? rootLog).child('webhook');
  const delivery = await deps.store.getDelivery(deliveryId);
  if (!delivery) return undefined;
  const endpoint = await deps.store.getEndpoint(delivery.endpointId);
  if (!endpoint) return undefined;
  if (delivery.status === 'delivered') return delivery;

  const headers = signatureHeaders(endpoint.secret, delivery.id, delivery.payload, (deps.now ?? (() => new Date()))());
  const fields = { delivery: delivery.id, endpoint: endpoint.id, type: delivery.eventType, attempt: delivery.attempts + 1 };
  let statusCode: number | null = null;
  let error: unknown;
  try {
    statusCode = await post(new URL(endpoint.url), delivery.payload, headers, deps.policy, deps.timeoutMs ?? 10_000);
  } catch (err) {
    error = err;
  }

  if (statusCode !== null && statusCode >= 200 && statusCode < 300) {
    log.info('webhook delivered', { ...fields, status: statusCode });
    return await deps.store.recordAttempt(delivery.id, { status: 'delivered', statusCode });
  }

  const blocked = error instanceof BlockedAddressError;
  const reason = error ? describe(error) : `endpoint answered HTTP ${statusCode}`;
  const giveUp = blocked || opts.final === true;
  await deps.store.recordAttempt(delivery.id, { status: giveUp ? 'failed' : 'pending', statusCode, error: reason });
  log.warn(giveUp ? 'webhook failed, giving up' : 'webhook attempt failed, will retry', { ...fields, status: statusCode ?? undefined, error: reason });
  if (blocked) throw new UnrecoverableError(reason);
  throw new Error(reason);
}

/**
 * The `webhook` queue's processor (PeerTube style: validate the payload, end
 * quietly when the subject is gone). Wire it as
 * `new Worker(QUEUE.webhook, (job) => processWebhook(job, deps), …)`.
 */
export async function processWebhook(job: Pick<Job<WebhookJob>, 'data' | 'attemptsMade' | 'opts' | 'id'>, deps: DeliverDeps): Promise<void> {
  const log = (deps.log ?? rootLog).child('webhook');
  const id = job.data?.deliveryId;
  if (typeof id !== 'string' || !id.startsWith('msg_')) {
    log.warn('webhook job without a valid deliveryId, dropped', { job: job.id });
    return;
  }
  const delivery = await deps.store.getDelivery(id);
  if (!delivery) {
    log.info('webhook delivery no longer exists, skipped', { delivery: id });
    return;
  }
  if (delivery.status !== 'pending') return;
  if (!(await deps.store.getEndpoint(delivery.endpointId))) {
    log.info('webhook endpoint no longer exists, skipped', { delivery: id });
    return;
  }
  const final = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
  await deliver(id, deps, { final });
}

// ---- emitting

/** The webhook queue's options (shared/queues.ts: 10 attempts, 10 s doubling). */
export const webhookJobOptions: JobsOptions = jobOptions('webhook');

export interface EmitDeps {
  store: WebhookStore;
  queue: Pick<Queue<WebhookJob>, 'add'>;
  log?: Logger;
  now?: () => Date;
  /** Overrides of webhookJobOptions (tests shorten the backoff). */
  jobOptions?: JobsOptions;
  /** How long an enqueue may take before it is given up (Redis away), default 5 s. */
  enqueueTimeoutMs?: number;
}

/** The event's data; `id` (the event id) is part of each delivery's identity. */
export type WebhookEventData = { id: string } & Record<string, unknown>;

export interface EmitOptions {
  /** Distinguishes repeated emissions of the same type for one event (e.g. successive `event.updated`). Default 0. */
  revision?: number;
}

export interface EmitResult {
  deliveryId: string;
  endpointId: string;
  created: boolean;
  enqueued: boolean;
}

async function enqueue(deliveryId: string, deps: EmitDeps): Promise<boolean> {
  try {
    await withTimeout(
      deps.queue.add('deliver', { deliveryId }, { ...webhookJobOptions, ...deps.jobOptions, jobId: QUEUE_SPECS.webhook.jobId({ deliveryId }) }),
      deps.enqueueTimeoutMs ?? 5000,
      'webhook enqueue',
    );
    return true;
  } catch (err) {
    (deps.log ?? rootLog).child('webhook').warn('webhook enqueue failed; the delivery stays pending', { delivery: deliveryId, error: err });
    return false;
  }
}

/**
 * Sends `eventType` to every endpoint subscribed to it. The body is
 * `{"type", "timestamp", "data"}`, fixed when the delivery row is first
 * written, so every retry sends the same bytes. Emitting the same (event id,
 * type, revision) again creates nothing new. Never throws for queue trouble:
 * the delivery stays pending and requeuePending() picks it up.
 */
export async function emit(eventType: WebhookEventType, data: WebhookEventData, deps: EmitDeps, opts: EmitOptions = {}): Promise<EmitResult[]> {
  if (!isWebhookEventType(eventType)) throw new TypeError(`unknown webhook event type: ${String(eventType)}`);
  if (typeof data?.id !== 'string' || !data.id) throw new TypeError('webhook event data needs an id');
  const revision = opts.revision ?? 0;
  const payload = JSON.stringify({ type: eventType, timestamp: (deps.now ?? (() => new Date()))().toISOString(), data });
  const results: EmitResult[] = [];
  for (const endpoint of await deps.store.endpointsFor(eventType)) {
    const { delivery, created } = await deps.store.createDelivery({ endpointId: endpoint.id, eventId: data.id, eventType, revision, payload });
    const enqueued = delivery.status === 'pending' ? await enqueue(delivery.id, deps) : false;
    results.push({ deliveryId: delivery.id, endpointId: endpoint.id, created, enqueued });
  }
  return results;
}

/**
 * Sends one `transcript.matched` message to one alert's endpoint. `key`
 * identifies the match, so the same match never makes a second delivery.
 */
export async function emitMatch(endpointId: string, key: string, data: WebhookEventData, deps: EmitDeps): Promise<EmitResult | undefined> {
  if (!(await deps.store.getEndpoint(endpointId))) return undefined;
  const payload = JSON.stringify({ type: ALERT_EVENT_TYPE, timestamp: (deps.now ?? (() => new Date()))().toISOString(), data });
  // The delivery id is derived from (endpoint, id, type, revision): the match key stands in for the revision.
  const revision = parseInt(crypto.createHash('sha256').update(key).digest('hex').slice(0, 7), 16);
  const { delivery, created } = await deps.store.createDelivery({ endpointId, eventId: data.id, eventType: ALERT_EVENT_TYPE, revision, payload });
  const enqueued = delivery.status === 'pending' ? await enqueue(delivery.id, deps) : false;
  return { deliveryId: delivery.id, endpointId, created, enqueued };
}

/** Queues every pending delivery again (job ids dedupe): run at startup, after Redis was away. */
export async function requeuePending(deps: EmitDeps): Promise<number> {
  let n = 0;
  for (const d of await deps.store.pendingDeliveries()) if (await enqueue(d.id, deps)) n++;
  return n;
}
