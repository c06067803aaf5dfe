/**
 * Session keys as MongoDB field names. A session key may be any UTF-8
 * string; a field name must not contain NUL (BSON names are C strings),
 * '.' is a path separator in updates and filters, and a leading '$' reads as
 * an operator. So '%', '.', '$' and NUL are written as %XX (like URL
 * escaping) and the empty key as a lone '%', which no escaped key can be
 * (every '%' of a key becomes "%25"): the mapping is one-to-one, and the
 * common key ("user", "cart", "csrf") is its own field name unchanged.
 */

const SPECIAL = /[%.$\0]/;

/** The field name of session key `key`. */
export function fieldOf(key: string): string {
  if (key.length === 0) return '%';
  if (!SPECIAL.test(key)) return key;
  let out = '';
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    // '%' 0x25, '.' 0x2e, '$' 0x24, NUL 0x00
    if (c === 0x25 || c === 0x2e || c === 0x24 || c === 0) out += c === 0 ? '%00' : '%' + c.toString(16).toUpperCase();
    else out += key[i];
  }
  return out;
}

/** The session key of field `name`, or null when no key maps to it (a field someone else wrote). */
export function keyOf(name: string): string | null {
  if (name === '%') return '';
  if (name.indexOf('%') === -1) return SPECIAL.test(name) ? null : name;
  let out = '';
  for (let i = 0; i < name.length; i++) {
    const c = name[i]!;
    if (c === '.' || c === '$' || c === '\0') return null;
    if (c !== '%') {
      out += c;
      continue;
    }
    const hex = name.slice(i + 1, i + 3);
    if (hex === '25') out += '%';
    else if (hex === '2E') out += '.';
    else if (hex === '24') out += '$';
    else if (hex === '00') out += '\0';
    else return null;
    i += 2;
  }
  return out.length === 0 ? null : out;
}
