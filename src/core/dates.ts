/**
 * Date strings of cookie expiries, which every response with a `maxAge`
 * cookie formats: `Date#toUTCString` and `#toISOString` cost about 0.5 µs
 * each here, a tenth of hotsession/express's whole session work per request
 * (bench/express-layer.mjs /write). Both give the same strings as those
 * methods, for every date they accept.
 */

let utcSecond = NaN;
let utcText = '';

/** `date.toUTCString()`, remembered for the last second asked (the string has no finer unit). */
export function utcString(date: Date): string {
  const ms = date.getTime();
  if (!Number.isFinite(ms)) return date.toUTCString();
  const second = Math.floor(ms / 1000);
  if (second !== utcSecond) {
    utcText = date.toUTCString();
    utcSecond = second;
  }
  return utcText;
}

const DAY = 86_400_000;
let isoDay = NaN;
/** `YYYY-MM-DDT` of `isoDay` (any year toISOString accepts, signed six-digit ones included). */
let isoPrefix = '';

function pad2(n: number): string {
  return n < 10 ? '0' + n : '' + n;
}

function pad3(n: number): string {
  return n < 10 ? '00' + n : n < 100 ? '0' + n : '' + n;
}

/** `date.toISOString()` (which throws for an invalid date, as this does): the day's part remembered, the time of day built. */
export function isoString(date: Date): string {
  const ms = date.getTime();
  if (!Number.isFinite(ms)) return date.toISOString();
  const day = Math.floor(ms / DAY);
  if (day !== isoDay) {
    const full = date.toISOString();
    isoPrefix = full.slice(0, full.indexOf('T') + 1);
    isoDay = day;
  }
  let t = ms - day * DAY;
  const milli = t % 1000;
  t = (t - milli) / 1000;
  const sec = t % 60;
  t = (t - sec) / 60;
  const min = t % 60;
  const hour = (t - min) / 60;
  return isoPrefix + pad2(hour) + ':' + pad2(min) + ':' + pad2(sec) + '.' + pad3(milli) + 'Z';
}
