// Why: a response whose body nobody reads keeps its socket open; when the server
// then stops, undici errors that body stream with nobody listening and vitest
// fails the whole file on the unhandled error. Tests that only look at a status
// or a header ask through here, which settles the body before returning.
export async function fetchHead(url: string, init?: RequestInit): Promise<{ status: number; ok: boolean; headers: Headers }> {
  const r = await fetch(url, init);
  await r.body?.cancel().catch(() => undefined);
  return { status: r.status, ok: r.ok, headers: r.headers };
}
