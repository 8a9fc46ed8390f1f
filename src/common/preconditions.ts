import { HttpException } from '@nestjs/common';
import { ValidationFailedException } from './problem.js';

/**
 * Conditional requests on versioned records (RFC 9110, section 13).
 *
 * A record's entity tag is its version: `W/"3"`. The tags a client sends in
 * If-Match or If-None-Match are read as versions whether or not they carry
 * the weak prefix: FHIR servers (HAPI, Medplum) compare If-Match the same
 * way, and our tags only ever name a version, so strong comparison would make
 * If-Match unusable with the tags we hand out. A well-formed tag that names no
 * version (`"abc"`) simply matches nothing; a malformed header is a 400.
 */

/** `*`, or the versions a list of entity tags names (tags naming no version are dropped: they match nothing). */
export type TagSet = '*' | number[];

/** What a request's If-Match and If-None-Match ask of the record's current version. */
export interface Preconditions {
  ifMatch?: TagSet;
  ifNoneMatch?: TagSet;
}

/** The largest version a column of type integer holds. */
const MAX_VERSION = 2_147_483_647;

/** entity-tag = [ "W/" ] DQUOTE *etagc DQUOTE, etagc = %x21 / %x23-7E (obs-text is not accepted). */
const ENTITY_TAG = /^(?:W\/)?"([\x21\x23-\x7e]*)"$/;
const VERSION = /^[1-9][0-9]{0,9}$/;

export function etagOf(version: number): string {
  return `W/"${version}"`;
}

/** `*` or a comma-separated list of entity tags (empty list elements are allowed, as RFC 9110's #rule says); null when malformed. */
export function parseTagSet(header: string): TagSet | null {
  const value = header.trim();
  if (value === '*') return '*';
  const versions: number[] = [];
  let tags = 0;
  for (const element of value.split(',')) {
    const item = element.trim();
    if (item === '') continue;
    const tag = ENTITY_TAG.exec(item);
    if (!tag) return null;
    tags += 1;
    if (VERSION.test(tag[1]) && Number(tag[1]) <= MAX_VERSION) versions.push(Number(tag[1]));
  }
  return tags === 0 ? null : versions;
}

type HeaderValue = string | string[] | undefined;

function tagSetOf(name: 'If-Match' | 'If-None-Match', value: HeaderValue): TagSet | undefined {
  if (value === undefined) return undefined;
  // Node joins repeated list headers with ", "; an array only comes from a test's fake request.
  const parsed = parseTagSet(Array.isArray(value) ? value.join(', ') : value);
  if (parsed === null) {
    throw new ValidationFailedException(
      { [name]: [`${name} must be "*" or a comma-separated list of entity tags, such as W/"3"`] },
      `The ${name} header is malformed.`,
    );
  }
  return parsed;
}

/** The preconditions of a request's headers; 400 (naming the header in `errors`) when one is malformed. */
export function preconditionsOf(headers: Record<string, HeaderValue>): Preconditions {
  const conditions: Preconditions = {};
  const ifMatch = tagSetOf('If-Match', headers['if-match']);
  const ifNoneMatch = tagSetOf('If-None-Match', headers['if-none-match']);
  if (ifMatch !== undefined) conditions.ifMatch = ifMatch;
  if (ifNoneMatch !== undefined) conditions.ifNoneMatch = ifNoneMatch;
  return conditions;
}

function matches(set: TagSet, version: number): boolean {
  return set === '*' || set.includes(version);
}

/** Whether a GET's If-None-Match names the current version: then the answer is 304, without a body. */
export function notModified(conditions: Preconditions, version: number): boolean {
  return conditions.ifNoneMatch !== undefined && matches(conditions.ifNoneMatch, version);
}

/** Whether the request carries any condition a write must check. */
export function isConditional(conditions: Preconditions): boolean {
  return conditions.ifMatch !== undefined || conditions.ifNoneMatch !== undefined;
}

/** 412: the record exists and is visible, but its version is not the one the client's conditions name. Its body carries the current version. */
export class PreconditionFailedException extends HttpException {
  constructor(
    readonly resource: string,
    readonly currentVersion: number,
  ) {
    super(
      `The ${resource} has changed: it is now at version ${currentVersion}, which the request's If-Match or If-None-Match does not allow. Read it again and resend your change.`,
      412,
    );
  }
}

/** 428: REQUIRE_IF_MATCH is on and a write came without If-Match. */
export class PreconditionRequiredException extends HttpException {
  constructor() {
    super('This server requires If-Match on every change: send the ETag of the version you read, or "*".', 428);
  }
}
