/**
 * Bounds on the shape of a JSON body, checked on the text before it is
 * parsed: no route takes more than a dozen fields or any array, so a body
 * far outside that (10,000 unknown keys, deep nesting, huge arrays) is
 * refused in one pass over the text instead of costing the parser, the
 * transformer and the validator an error per key (issue 11, item 2).
 */

/** Deeper JSON is refused before it is parsed. */
export const MAX_JSON_DEPTH = 32;
/** Keys in any one object. */
export const MAX_OBJECT_KEYS = 64;
/** Keys in the whole body, nested objects included. */
export const MAX_TOTAL_KEYS = 256;
/** Items in any one array. */
export const MAX_ARRAY_ITEMS = 256;
/** Items in all the arrays of the body together. */
export const MAX_TOTAL_ITEMS = 1024;

export type JsonLimit = 'depth' | 'object-keys' | 'total-keys' | 'array-items' | 'total-items';

export const JSON_LIMITS: Record<JsonLimit, number> = {
  depth: MAX_JSON_DEPTH,
  'object-keys': MAX_OBJECT_KEYS,
  'total-keys': MAX_TOTAL_KEYS,
  'array-items': MAX_ARRAY_ITEMS,
  'total-items': MAX_TOTAL_ITEMS,
};

/** A bound the text breaks, and the top-level field it breaks it in (none when it is the body itself). */
export interface JsonLimitBreach {
  limit: JsonLimit;
  field?: string;
}

const OPEN_OBJECT = 123; // {
const CLOSE_OBJECT = 125; // }
const OPEN_ARRAY = 91; // [
const CLOSE_ARRAY = 93; // ]
const QUOTE = 34; // "
const BACKSLASH = 92; // \
const COLON = 58; // :
const COMMA = 44; // ,

/**
 * The first bound `text` breaks, without parsing it. Strings (keys
 * included) are skipped, escaped quotes too; malformed text is left to the
 * parser, which refuses it.
 */
export function findJsonLimitBreach(text: string, limits = JSON_LIMITS): JsonLimitBreach | undefined {
  // Per open container: is it an array, and its keys (object) or commas (array).
  const isArray: boolean[] = [];
  const counts: number[] = [];
  let totalKeys = 0;
  let totalItems = 0;
  // The last string read at depth 1, and the top-level field it named once a ':' followed it.
  let lastString: [number, number] = [0, 0];
  let field: [number, number] | undefined;
  const breach = (limit: JsonLimit): JsonLimitBreach =>
    counts.length > 1 && field ? { limit, field: text.slice(field[0], field[1]) } : { limit };

  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      const start = i;
      for (i++; i < text.length; i++) {
        const s = text.charCodeAt(i);
        if (s === BACKSLASH) i++;
        else if (s === QUOTE) break;
      }
      if (counts.length === 1) lastString = [start, i + 1];
    } else if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
      const array = c === OPEN_ARRAY;
      isArray.push(array);
      counts.push(0);
      if (counts.length > limits.depth) return breach('depth');
      // An array's items are its commas plus one, counted here when it is not empty.
      if (array && nextSignificant(text, i + 1) !== CLOSE_ARRAY) {
        counts[counts.length - 1] = 1;
        if (++totalItems > limits['total-items']) return breach('total-items');
      }
    } else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) {
      isArray.pop();
      counts.pop();
    } else if (c === COLON && counts.length > 0 && !isArray[isArray.length - 1]) {
      if (counts.length === 1) field = lastString;
      if (++counts[counts.length - 1] > limits['object-keys']) return breach('object-keys');
      if (++totalKeys > limits['total-keys']) return breach('total-keys');
    } else if (c === COMMA && counts.length > 0 && isArray[isArray.length - 1]) {
      if (++counts[counts.length - 1] > limits['array-items']) return breach('array-items');
      if (++totalItems > limits['total-items']) return breach('total-items');
    }
  }
  return undefined;
}

function nextSignificant(text: string, from: number): number {
  for (let i = from; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c !== 32 && c !== 9 && c !== 10 && c !== 13) return c;
  }
  return -1;
}

/** What a breach's message says, per bound. */
export function jsonLimitMessage(limit: JsonLimit): string {
  switch (limit) {
    case 'depth':
      return `JSON nested deeper than ${MAX_JSON_DEPTH} levels is not accepted.`;
    case 'object-keys':
      return `A JSON object with more than ${MAX_OBJECT_KEYS} keys is not accepted (no route takes that many fields).`;
    case 'total-keys':
      return `A JSON body with more than ${MAX_TOTAL_KEYS} keys in all is not accepted.`;
    case 'array-items':
      return `A JSON array with more than ${MAX_ARRAY_ITEMS} items is not accepted.`;
    case 'total-items':
      return `A JSON body with more than ${MAX_TOTAL_ITEMS} array items in all is not accepted.`;
  }
}

/** The same, as the message of the field it happened in (validation's style: the field first). */
export function jsonLimitFieldMessage(field: string, limit: JsonLimit): string {
  switch (limit) {
    case 'depth':
      return `${field} is nested deeper than ${MAX_JSON_DEPTH} levels`;
    case 'object-keys':
      return `${field} holds an object with more than ${MAX_OBJECT_KEYS} keys`;
    case 'total-keys':
      return `${field} takes the body past ${MAX_TOTAL_KEYS} keys in all`;
    case 'array-items':
      return `${field} holds an array with more than ${MAX_ARRAY_ITEMS} items`;
    case 'total-items':
      return `${field} takes the body past ${MAX_TOTAL_ITEMS} array items in all`;
  }
}
