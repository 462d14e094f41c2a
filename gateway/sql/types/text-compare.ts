/**
 * String order for the C collation: code point order, which is UTF-8 byte order (and so
 * the key encoding's order). JavaScript's `<` compares UTF-16 code units, which puts
 * characters above U+FFFF (surrogate pairs, 0xD800..0xDFFF) before U+E000..U+FFFF.
 */

/** -1, 0 or 1 by code point order. */
export function compareCodePoints(a: string, b: string): -1 | 0 | 1 {
  const n = a.length < b.length ? a.length : b.length;
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) {
      if (x >= 0xd800 && y >= 0xd800) {
        return fixup(x) < fixup(y) ? -1 : 1;
      }
      return x < y ? -1 : 1;
    }
  }
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}

/** Moves surrogates above U+E000..U+FFFF so that code units compare as code points. */
function fixup(c: number): number {
  return c >= 0xe000 ? c - 0x800 : c + 0x2000;
}

/** Length of a string without its trailing spaces (bpchar ignores them). */
export function lengthWithoutTrailingSpaces(s: string): number {
  let end = s.length;
  while (end > 0 && s.charCodeAt(end - 1) === 0x20) {
    end--;
  }
  return end;
}

export function stripTrailingSpaces(s: string): string {
  const end = lengthWithoutTrailingSpaces(s);
  return end === s.length ? s : s.slice(0, end);
}

/** bpchar comparison: trailing spaces are insignificant ('a ' = 'a'). */
export function compareBpchar(a: string, b: string): -1 | 0 | 1 {
  return compareCodePoints(stripTrailingSpaces(a), stripTrailingSpaces(b));
}

/** Number of code points (PostgreSQL counts characters, not UTF-16 units). */
export function codePointLength(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n--;
        i++;
      }
    }
  }
  return n;
}

/** The UTF-16 index just after the first `count` code points. */
export function codePointOffset(s: string, count: number): number {
  let i = 0;
  for (let k = 0; k < count && i < s.length; k++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      i += d >= 0xdc00 && d <= 0xdfff ? 2 : 1;
    } else {
      i++;
    }
  }
  return i;
}
