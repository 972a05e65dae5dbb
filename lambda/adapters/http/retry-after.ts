/**
 * The `Retry-After` header (RFC 9110 §10.2.3) as a delay in ms: delay-seconds, or an
 * HTTP-date relative to `now`. Undefined when absent or malformed.
 */
export function parseRetryAfter(header: string | null, now: number): number | undefined {
  const value = header?.trim();
  if (!value) return undefined;
  if (/^\d{1,12}$/.test(value)) return Number(value) * 1000;
  const at = parseHttpDate(value, now);
  return at === undefined ? undefined : Math.max(0, at - now);
}

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];

/** Sun, 06 Nov 1994 08:49:37 GMT */
const IMF_FIXDATE = /^[A-Za-z]{3}, (\d{2}) ([A-Za-z]{3}) (\d{4}) (\d{2}:\d{2}:\d{2}) GMT$/;
/** Sunday, 06-Nov-94 08:49:37 GMT */
const RFC850_DATE = /^[A-Za-z]{6,9}, (\d{2})-([A-Za-z]{3})-(\d{2}) (\d{2}:\d{2}:\d{2}) GMT$/;
/** Sun Nov  6 08:49:37 1994 */
const ASCTIME_DATE = /^[A-Za-z]{3} ([A-Za-z]{3}) ([ \d]\d) (\d{2}:\d{2}:\d{2}) (\d{4})$/;

interface DateParts {
  day: number;
  month: string;
  year: number;
  time: string;
}

/** Parses the three HTTP-date formats (RFC 9110 §5.6.7) to epoch ms, strictly; undefined otherwise. */
function parseHttpDate(value: string, now: number): number | undefined {
  const parts = dateParts(value, now);
  if (parts === undefined) return undefined;
  const { day, year } = parts;
  const month = MONTHS.indexOf(parts.month.toLowerCase());
  const [hh, mm, ss] = parts.time.split(':').map(Number) as [number, number, number];
  if (month < 0 || hh > 23 || mm > 59 || ss > 60) return undefined;
  const ms = Date.UTC(year, month, day, hh, mm, ss);
  // Rejects impossible days such as 31 Feb, which Date.UTC would roll over.
  return new Date(ms).getUTCDate() === day ? ms : undefined;
}

function dateParts(value: string, now: number): DateParts | undefined {
  const imf = IMF_FIXDATE.exec(value);
  if (imf) return { day: Number(imf[1]), month: imf[2]!, year: Number(imf[3]), time: imf[4]! };
  const rfc850 = RFC850_DATE.exec(value);
  if (rfc850) {
    return {
      day: Number(rfc850[1]),
      month: rfc850[2]!,
      year: fullYear(Number(rfc850[3]), now),
      time: rfc850[4]!,
    };
  }
  const asctime = ASCTIME_DATE.exec(value);
  if (asctime)
    return { day: Number(asctime[2]), month: asctime[1]!, year: Number(asctime[4]), time: asctime[3]! };
  return undefined;
}

/** A two-digit year more than 50 years ahead is in the past (RFC 9110 §5.6.7). */
function fullYear(twoDigits: number, now: number): number {
  const thisYear = new Date(now).getUTCFullYear();
  const year = Math.floor(thisYear / 100) * 100 + twoDigits;
  return year > thisYear + 50 ? year - 100 : year;
}
