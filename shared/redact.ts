// The one redactor: every text that may hold a URL or a secret (ffmpeg's
// stderr, error messages, log lines) passes through here before it reaches an
// API response, a page, a feed, a webhook or a log. Source URLs carry their
// secrets in userinfo, paths (stream keys) and query strings (tokens, SRT
// passphrases), so a URL is reduced to scheme://host:port; secrets in
// key=value form and the service's own token formats are masked; and the
// pieces of a known URL are removed wherever they appear on their own.

/** scheme://host[:port] of a URL: no userinfo, path, query or fragment. */
export function redactUrl(url: string): string {
  return reduceUrl(url.match(URL_RE)?.[0] ?? url);
}

const URL_RE = /\b[a-z][a-z0-9+.-]{1,15}:\/\/[^\s"'<>`]*/gi;
const HOST_RE = /^(\[[0-9a-f:.]+\]|[a-z0-9_.%-]+)(:\d{1,5})?$/i;

function reduceUrl(match: string): string {
  // Sentence punctuation after a URL stays in the text.
  const trail = /[.,;:)]+$/.exec(match)?.[0] ?? '';
  const token = match.slice(0, match.length - trail.length);
  const sep = token.indexOf('://');
  const scheme = token.slice(0, sep).toLowerCase();
  const rest = token.slice(sep + 3);
  const end = rest.search(/[/?#]/);
  const authority = end < 0 ? rest : rest.slice(0, end);
  // An '@' after the authority may be a password holding '/': nothing of it can be shown safely.
  if (!authority.includes('@') && rest.includes('@')) return `${scheme}://[redacted]${trail}`;
  const hostPort = authority.slice(authority.lastIndexOf('@') + 1);
  return `${scheme}://${HOST_RE.test(hostPort) ? hostPort : '[redacted]'}${trail}`;
}

const SECRET_PARAMS =
  /\b(passphrase|pbkeylen|streamid|stream_?key|key|token|tok|secret|password|passwd|pass|pwd|auth|authorization|sig|signature|access_token|api_?key|x-amz-[a-z-]+|x-goog-[a-z-]+)=([^&\s"'<>]+)/gi;
const TOKENS = /\b(rpl|sk|whsec)_[A-Za-z0-9_+/=-]{6,}/g;
const BEARER = /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/-]+=*/gi;

/**
 * The pieces of a URL that may be secret, raw and decoded: userinfo, the path,
 * every path segment after the first (RTMP: app/STREAMKEY; the app itself only
 * when long enough not to be a common word), the query and its values.
 */
export function urlSecrets(url: string): string[] {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return [];
  }
  const out = new Set<string>();
  const add = (s: string, min: number) => {
    for (const v of [s, safeDecode(s)]) if (v.length >= min) out.add(v);
  };
  add(u.username, 1);
  add(u.password, 1);
  if (u.pathname.length > 1) add(u.pathname, 2);
  u.pathname
    .split('/')
    .filter(Boolean)
    .forEach((seg, i) => add(seg, i === 0 ? 8 : 3));
  if (u.search.length > 1) add(u.search.slice(1), 2);
  for (const [, v] of new URLSearchParams(u.search)) add(v, 3);
  // Longest first, so a secret that contains another is removed whole.
  return [...out].sort((a, b) => b.length - a.length);
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** Redacts a text: URLs reduced to scheme://host:port, secret parameters and tokens masked, known secrets removed. */
export function redactText(text: string, secrets: string[] = []): string {
  let out = text.replace(URL_RE, reduceUrl);
  for (const s of secrets) if (s) out = out.split(s).join('[redacted]');
  return out.replace(SECRET_PARAMS, '$1=[redacted]').replace(TOKENS, '$1_[redacted]').replace(BEARER, '$1 [redacted]');
}
