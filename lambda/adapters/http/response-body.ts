export type BodyRead =
  | { kind: 'ok'; bytes: Uint8Array }
  | { kind: 'too_large' }
  | { kind: 'failed'; error: unknown };

/**
 * Reads the body up to `limit` bytes (after content decoding). Stops, and cancels the
 * stream, as soon as it exceeds the limit, so a hostile provider cannot exhaust memory.
 */
export async function readBody(response: Response, limit: number): Promise<BodyRead> {
  const declared = Number(response.headers.get('content-length') ?? Number.NaN);
  if (Number.isFinite(declared) && declared > limit) {
    await discardBody(response);
    return { kind: 'too_large' };
  }
  if (response.body === null) return { kind: 'ok', bytes: new Uint8Array(0) };
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > limit) {
        await reader.cancel().catch(() => {});
        return { kind: 'too_large' };
      }
      chunks.push(value);
    }
  } catch (error) {
    return { kind: 'failed', error };
  }
  return { kind: 'ok', bytes: Buffer.concat(chunks, total) };
}

/** Drops a body we will not read, so the connection is released rather than left pending. */
export async function discardBody(response: Response): Promise<void> {
  try {
    await response.body?.cancel();
  } catch {
    // Nothing to do: the connection is dropped either way.
  }
}
