/**
 * A tiny JSON tree for request bodies that JSON.stringify cannot write: own
 * `__proto__` keys, duplicate keys and number literals such as 1e400 or -0.
 */
export class Raw {
  constructor(readonly text: string) {}
}

/** An object as a list of entries: keys may repeat and may be `__proto__`. */
export class Obj {
  constructor(readonly entries: [string, Json][]) {}

  keys(): string[] {
    return this.entries.map(([k]) => k);
  }

  with(key: string, value: Json): Obj {
    const entries = this.entries.filter(([k]) => k !== key);
    return new Obj([...entries, [key, value]]);
  }

  without(...keys: string[]): Obj {
    return new Obj(this.entries.filter(([k]) => !keys.includes(k)));
  }

  append(key: string, value: Json): Obj {
    return new Obj([...this.entries, [key, value]]);
  }
}

export type Json = string | number | boolean | null | Raw | Obj | Json[];

/** Serializes the tree; strings go through JSON.stringify (lone surrogates become \ud800 escapes). */
export function toJson(value: Json): string {
  if (value instanceof Raw) return value.text;
  if (value instanceof Obj) return `{${value.entries.map(([k, v]) => `${JSON.stringify(k)}:${toJson(v)}`).join(',')}}`;
  if (Array.isArray(value)) return `[${value.map(toJson).join(',')}]`;
  return JSON.stringify(value) ?? 'null';
}

/** Percent-encodes a string as UTF-8, and a lone surrogate as the three bytes WTF-8 gives it. */
export function percentEncode(text: string): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    const next = text.charCodeAt(i + 1);
    if (unit >= 0xd800 && unit <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
      out += encodeURIComponent(text.slice(i, i + 2));
      i++;
    } else if (unit >= 0xd800 && unit <= 0xdfff) {
      out += [0xe0 | (unit >> 12), 0x80 | ((unit >> 6) & 0x3f), 0x80 | (unit & 0x3f)]
        .map((b) => `%${b.toString(16).toUpperCase()}`)
        .join('');
    } else out += encodeURIComponent(text[i]);
  }
  return out;
}
