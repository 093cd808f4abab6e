// What a failed source connection says on the event (error, endReason, log):
// what happened in words ("connection refused", "HTTP 404", "not an audio
// stream"), then where, as scheme://host:port. ffmpeg's stderr and Node's
// errors print whole URLs (credentials, stream keys, tokens, passphrases);
// nothing of that gets through: the text is redacted, with the pieces of the
// event's own source URL removed wherever they appear.
import { FfmpegError } from '../shared/ffmpeg.ts';
import { BlockedAddressError } from '../shared/net-policy.ts';
import { redactText, redactUrl, urlSecrets } from '../shared/redact.ts';
import { HttpStatusError, TooLargeError } from './http-fetch.ts';

/** ffmpeg and system messages, and the words the event shows for them (first match wins). */
const WORDS: [RegExp, string][] = [
  [/connection refused|ECONNREFUSED/i, 'connection refused'],
  [/connection reset|ECONNRESET|broken pipe|EPIPE/i, 'connection reset'],
  [/timed? ?out|ETIMEDOUT/i, 'connection timed out'],
  [/host not found|ENOTFOUND|EAI_AGAIN|Name or service not known|Failed to resolve|name resolution|No address associated/i, 'host not found'],
  [/network is unreachable|ENETUNREACH|EHOSTUNREACH|No route to host/i, 'network unreachable'],
  [/certificate|TLS|SSL|handshake/i, 'TLS handshake failed'],
  [/Server returned (\d{3})|HTTP error (\d{3})/i, 'HTTP $1$2'],
  [/Server error|StreamNotFound|Play failed|NetStream\.\w+\.Failed/i, 'stream not found on the server'],
  [/Connection setup failure|SRT_ECONNREJ|connection rejected/i, 'connection rejected'],
  [
    /Invalid data found|could not find codec parameters|does not contain any stream|matches no streams|no audio stream|Invalid argument|Error opening input/i,
    'not an audio stream',
  ],
];

function words(text: string): string | undefined {
  for (const [re, w] of WORDS) {
    const m = re.exec(text);
    if (m) return w.replace(/\$(\d)/g, (_, i: string) => m[Number(i)] ?? '');
  }
  return undefined;
}

/** One line for the event and the log. */
export function describeSourceError(err: unknown, sourceUrl?: string): string {
  const where = sourceUrl ? ` (${redactUrl(sourceUrl)})` : '';
  if (err instanceof BlockedAddressError || err instanceof HttpStatusError || err instanceof TooLargeError) return redactText(err.message);
  const e = err as NodeJS.ErrnoException | undefined;
  const raw = err instanceof FfmpegError ? `${e?.message} ${err.stderr.slice(-2000)}` : `${e?.code ?? ''} ${e?.message ?? String(err)}`;
  const w = words(raw);
  if (w) return `${w}${where}`;
  const secrets = sourceUrl ? urlSecrets(sourceUrl) : [];
  return redactText(String(e?.message ?? err), secrets).slice(0, 300);
}
