/**
 * Captures everything the process writes to stdout and stderr while a piece of code runs
 * (the refresher's JSON logs and EMF metrics go there), so tests can assert that no token
 * appears in any output. Overlapping captures share one interception. Set
 * SHOW_REFRESHER_OUTPUT=1 to also pass the output through.
 */
export interface OutputCapture {
  during<T>(fn: () => Promise<T>): Promise<T>;
  /** What was written, to both streams or to one. */
  text(stream?: Stream): string;
  /** Every captured line that is a JSON object. */
  jsonLines(stream?: Stream): Record<string, unknown>[];
  clear(): void;
}

type Stream = 'stdout' | 'stderr';

export function captureOutput(): OutputCapture {
  const chunks: { stream: Stream; text: string }[] = [];
  let active = 0;
  let restore: (() => void) | undefined;
  const passThrough = process.env.SHOW_REFRESHER_OUTPUT === '1';

  const install = () => {
    const originalOut = process.stdout.write.bind(process.stdout);
    const originalErr = process.stderr.write.bind(process.stderr);
    const intercept =
      (original: typeof originalOut, stream: Stream) =>
      (chunk: string | Uint8Array, ...rest: unknown[]): boolean => {
        chunks.push({
          stream,
          text: typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'),
        });
        if (passThrough) return (original as (c: unknown, ...r: unknown[]) => boolean)(chunk, ...rest);
        const callback = rest.find((arg) => typeof arg === 'function') as (() => void) | undefined;
        callback?.();
        return true;
      };
    process.stdout.write = intercept(originalOut, 'stdout') as typeof process.stdout.write;
    process.stderr.write = intercept(originalErr, 'stderr') as typeof process.stderr.write;
    restore = () => {
      process.stdout.write = originalOut;
      process.stderr.write = originalErr;
    };
  };

  const text = (stream?: Stream) =>
    chunks
      .filter((chunk) => stream === undefined || chunk.stream === stream)
      .map((chunk) => chunk.text)
      .join('');

  return {
    async during(fn) {
      if (active++ === 0) install();
      try {
        return await fn();
      } finally {
        if (--active === 0) restore?.();
      }
    },
    text,
    jsonLines: (stream?: Stream) =>
      text(stream)
        .split('\n')
        .flatMap((line) => {
          const trimmed = line.trim();
          if (!trimmed.startsWith('{')) return [];
          try {
            return [JSON.parse(trimmed) as Record<string, unknown>];
          } catch {
            return [];
          }
        }),
    clear: () => {
      chunks.length = 0;
    },
  };
}
