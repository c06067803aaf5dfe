/**
 * Finds one cookie in a raw Cookie header with exactly the `cookie` package's
 * (0.7, used by express-session) rules, so an app switching from
 * express-session reads the same value from the same header:
 * pairs split on ';', names and values trimmed of spaces and tabs, the first
 * occurrence of a name wins, one pair of surrounding double quotes is removed,
 * and a value containing '%' is percent-decoded (left raw if that fails).
 * Headers shorter than 2 characters hold no cookie.
 *
 * Returns undefined when the cookie is absent.
 */
export function findCookie(header: string, name: string): string | undefined {
  const len = header.length;
  if (len < 2) return undefined;
  let index = 0;
  while (index < len) {
    const eq = header.indexOf('=', index);
    if (eq === -1) return undefined;
    let end = header.indexOf(';', index);
    if (end === -1) {
      end = len;
    } else if (eq > end) {
      // This pair has no '='; resume at the segment that holds the next one.
      index = header.lastIndexOf(';', eq - 1) + 1;
      continue;
    }
    const keyStart = skipStart(header, index, eq);
    const keyEnd = skipEnd(header, eq, keyStart);
    if (keyEnd - keyStart === name.length && header.startsWith(name, keyStart)) {
      let valStart = skipStart(header, eq + 1, end);
      let valEnd = skipEnd(header, end, valStart);
      if (header.charCodeAt(valStart) === 0x22 && header.charCodeAt(valEnd - 1) === 0x22) {
        valStart++;
        valEnd--;
      }
      return decode(header.slice(valStart, valEnd));
    }
    index = end + 1;
  }
  return undefined;
}

function skipStart(s: string, start: number, end: number): number {
  while (start < end) {
    const c = s.charCodeAt(start);
    if (c !== 0x20 && c !== 0x09) break;
    start++;
  }
  return start;
}

function skipEnd(s: string, end: number, start: number): number {
  while (end > start) {
    const c = s.charCodeAt(end - 1);
    if (c !== 0x20 && c !== 0x09) break;
    end--;
  }
  return end;
}

function decode(value: string): string {
  if (value.indexOf('%') === -1) return value;
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}
