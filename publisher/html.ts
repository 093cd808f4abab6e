// Escaping and small text helpers shared by the feed, the replay page and the
// SVG behind the images. One place, so a fix reaches every output.
//
// Everything that ends up in markup passes through here: titles and transcript
// lines come from people and from speech recognition, and may contain markup.

const HTML_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/**
 * Characters XML 1.0 cannot carry at all (C0 controls except tab, LF, CR;
 * U+FFFE/U+FFFF; lone surrogates). Escaping cannot save them, so they go.
 */
// eslint-disable-next-line no-control-regex
const XML_INVALID = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** Removes characters that are not allowed in XML/HTML documents. */
export function stripInvalidChars(s: string): string {
  return s.replace(XML_INVALID, '');
}

/** Escapes text for HTML element content and (quoted) attribute values. */
export function escapeHtml(value: string | number | null | undefined): string {
  return stripInvalidChars(String(value ?? '')).replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]);
}

/** Escapes text for XML (RSS, SVG) element content and quoted attribute values. */
export function escapeXml(value: string | number | null | undefined): string {
  return stripInvalidChars(String(value ?? '')).replace(/[&<>"']/g, (c) => (c === "'" ? '&apos;' : HTML_ESCAPES[c]));
}

/**
 * Serializes a value for a `<script>` element or a JSON-in-HTML context:
 * `<`, `>`, `&` and the JS line separators are \u-escaped, so no `</script>`
 * or `<!--` can be formed by the data.
 */
export function jsonForHtml(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

/** Collapses runs of whitespace and trims; shortens to max characters with an ellipsis. */
export function truncate(s: string, max: number): string {
  const t = s.replace(/\s+/g, ' ').trim();
  if (t.length <= max) return t;
  const cut = t.slice(0, Math.max(0, max - 1));
  const atWord = cut.replace(/\s+\S*$/, '');
  return (atWord.length > max * 0.6 ? atWord : cut).replace(/[\s.,;:!?-]+$/, '') + '…';
}

// ---- time

function whole(sec: number): number {
  return Number.isFinite(sec) && sec > 0 ? Math.floor(sec) : 0;
}

/** H:MM:SS, always with hours (durations on images and in the feed). */
export function hms(sec: number): string {
  const s = whole(sec);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return `${h}:${String(m).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
}

/** M:SS below an hour, H:MM:SS from an hour on (timestamps beside transcript lines). */
export function clock(sec: number): string {
  const s = whole(sec);
  if (s >= 3600) return hms(s);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

/** "1 h 5 min", "12 min", "45 s": for descriptions read by people. */
export function humanDuration(sec: number): string {
  const s = whole(sec);
  if (s < 60) return `${s} s`;
  const h = Math.floor(s / 3600);
  const m = Math.round((s % 3600) / 60);
  if (h === 0) return `${m} min`;
  return m ? `${h} h ${m} min` : `${h} h`;
}

/** Parses a Date, ISO string or epoch milliseconds; throws on garbage so bad dates never reach a feed. */
export function toDate(d: Date | string | number): Date {
  const date = d instanceof Date ? d : new Date(d);
  if (Number.isNaN(date.getTime())) throw new RangeError(`invalid date: ${String(d)}`);
  return date;
}

/** RFC 822 date as RSS wants it (RFC 1123 form, GMT): `Wed, 02 Oct 2002 13:00:00 GMT`. */
export function rfc822(d: Date | string | number): string {
  return toDate(d).toUTCString();
}
