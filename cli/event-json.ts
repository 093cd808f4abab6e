// The parts of the service's event JSON (GET/POST /api/events) that the command
// line and the demo read. The service assembles that JSON from every stage
// (recorder/routes.ts eventsJson and the stages' views); only the fields
// printed here are declared, so the CLI reads them typed instead of as `any`.

/** An event as the API answers it; a stage's fields are absent when that stage does not run. */
export interface EventJson {
  id: string;
  slug: string;
  status: string;
  capturedSec: number;
  archivedSec: number;
  error?: string | null;
  gaps?: unknown[];
  transcodedSec?: number;
  transcribedSec?: number;
  transcript?: { status?: string };
  publishLatencyMs?: number | null;
  urls?: EventUrlsJson;
  /** Only in the answer to the creation of a push event. */
  ingest?: { url: string; key: string };
}

/** An event's URLs: some are null until the event is published. */
export interface EventUrlsJson {
  page?: string;
  audio?: string | null;
  hls?: string;
  manifest?: string | null;
  transcript?: Record<string, string> | null;
}

/** The body of an API error answer. */
export interface ApiErrorJson {
  error?: string;
  field?: string;
}
