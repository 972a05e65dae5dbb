/** Small statistics and formatting helpers for the benchmarks. */

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** `1,234` / `12.3` / `0.123`: three significant digits below 1,000, thousands separators above. */
export function num(value: number, digits = 3): string {
  if (!Number.isFinite(value)) return '–';
  if (Math.abs(value) >= 1000) return Math.round(value).toLocaleString('en-US');
  if (value === 0) return '0';
  return Number(value.toPrecision(digits)).toString();
}

export function ms(value: number): string {
  return `${num(value)} ms`;
}

export function seconds(valueMs: number): string {
  return `${num(valueMs / 1000)} s`;
}

export function kb(bytes: number): string {
  return `${num(bytes / 1024)} KB`;
}

/** A difference with its sign: `+1.2 ms`, `-31 KB`. */
export function signed(value: number, format: (v: number) => string): string {
  return value > 0 ? `+${format(value)}` : format(value);
}

/** `275 s (4 min 35 s)`. */
export function duration(valueMs: number): string {
  const total = Math.round(valueMs / 1000);
  return `${total} s (${Math.floor(total / 60)} min ${total % 60} s)`;
}

/** `a / b` as `2.5×`. */
export function ratio(a: number, b: number): string {
  if (!Number.isFinite(a) || !Number.isFinite(b) || b === 0) return '–';
  return `${num(a / b)}×`;
}

export function percent(fraction: number): string {
  if (!Number.isFinite(fraction)) return '–';
  return `${num(fraction * 100)}%`;
}
