// A small structured logger: one line per record, readable by people and
// greppable by machines. LOG_LEVEL=debug|info|warn|error (default info);
// LOG_FORMAT=json writes one JSON object per line for log shippers.
// Every line passes through the redactor: no URL path, query, credential or
// token reaches a log, whoever logged it.
import { redactText } from './redact.ts';
type Level = 'debug' | 'info' | 'warn' | 'error';
const order: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(scope: string): Logger;
}

function threshold(): number {
  const lvl = (process.env.LOG_LEVEL || 'info') as Level;
  return order[lvl] ?? order.info;
}

function format(v: unknown): string {
  if (v instanceof Error) return JSON.stringify(redactText(v.message));
  if (typeof v === 'string') {
    const r = redactText(v);
    return /\s|"/.test(r) ? JSON.stringify(r) : r;
  }
  return redactText(JSON.stringify(v) ?? 'undefined');
}

/** A field's value as JSON carries it: errors by their message, everything redacted. */
function jsonValue(v: unknown): unknown {
  if (v instanceof Error) return redactText(v.message);
  if (typeof v === 'string') return redactText(v);
  if (v === null || typeof v === 'number' || typeof v === 'boolean') return v;
  return JSON.parse(redactText(JSON.stringify(v) ?? 'null')) as unknown;
}

function textLine(time: string, level: Level, scope: string, msg: string, fields: [string, unknown][]): string {
  return `${time} ${level.toUpperCase().padEnd(5)} [${scope}] ${redactText(msg)}${fields.map(([k, v]) => ` ${k}=${format(v)}`).join('')}\n`;
}

function jsonLine(time: string, level: Level, scope: string, msg: string, fields: [string, unknown][]): string {
  return JSON.stringify({ time, level, scope, msg: redactText(msg), ...Object.fromEntries(fields.map(([k, v]) => [k, jsonValue(v)])) }) + '\n';
}

export function createLogger(scope = 'replay'): Logger {
  const write = (level: Level, msg: string, fields?: Record<string, unknown>) => {
    if (order[level] < threshold()) return;
    const present = Object.entries(fields ?? {}).filter(([, v]) => v !== undefined);
    const line = (process.env.LOG_FORMAT === 'json' ? jsonLine : textLine)(new Date().toISOString(), level, scope, msg, present);
    (level === 'error' || level === 'warn' ? process.stderr : process.stdout).write(line);
  };
  return {
    debug: (m, f) => write('debug', m, f),
    info: (m, f) => write('info', m, f),
    warn: (m, f) => write('warn', m, f),
    error: (m, f) => write('error', m, f),
    child: (s) => createLogger(`${scope}:${s}`),
  };
}

export const log = createLogger();
