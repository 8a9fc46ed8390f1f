// Past 250 lines: sealing, verifying and pruning share one set of invariants (placement, keys, marks, boundaries);
// issue 10 asks for the chain as one service beside recording/listing, and splitting it would scatter them.
import { Inject, Injectable } from '@nestjs/common';
import { DataSource, type EntityManager, QueryFailedError } from 'typeorm';
import {
  type ChainKeys,
  type Checkpoint,
  GENESIS_HASH,
  keyedLinkHash,
  markLinkHash,
  parseCheckpoint,
  parsePruneAnchor,
  pruneAnchor,
  rowHash,
  signCheckpoint,
} from './audit-chain.js';
import { AuditChainRepository, type LinkRow, type NewLink } from './audit-chain.repository.js';
import { AuditWitness } from './audit-witness.js';
import { AuditService } from './audit.service.js';

/** Injection token of the chain's keys (derived from AUDIT_CHAIN_KEY; see audit-chain-key.ts). */
export const AUDIT_CHAIN_KEYS = Symbol('AUDIT_CHAIN_KEYS');

export interface VerifyResult {
  ok: boolean;
  /** Links checked. */
  checked: number;
  /** The chain's first and last positions checked. */
  first: string | null;
  last: string | null;
  /** Events written but not sealed into the chain yet (a fraction of a second's worth in normal running). */
  pending: number;
  /** The first link that does not hold. */
  broken?: { position: string; problem: string };
  /** With a checkpoint: whether it could be checked (one older than a retention prune cannot). */
  checkpoint?: 'matched' | 'predates-prune';
  /** Runs of numbers an operator acknowledged as lost (keyed 'acknowledged' marks checked on the way). */
  acknowledged: NumberRange[];
  /** When the break is numbers nothing accounts for: which. */
  gap?: NumberRange;
}

export interface NumberRange {
  from: string;
  to: string;
}

/** A gap acknowledgement refused: the message says why (nothing was written). */
export class GapAcknowledgementRefused extends Error {}

/** The most numbers one acknowledgement may cover (a crash skips at most 32). */
export const MAX_ACKNOWLEDGED = 10_000;
/** How long an acknowledgement waits for transactions that may hold numbers of its range. */
const ACKNOWLEDGE_WAIT_MS = 15_000;

const VERIFY_BATCH = 5000;
/** The longest verify waits for transactions that were running when it began (server statements end within 10 s). */
const IN_FLIGHT_WAIT_MS = 15_000;
/** Time for any instance's sealer (every 200 ms) to mark the numbers its rolled-back writes took. */
const MARK_WAIT_MS = 600;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** Events sealed per call. */
export const SEAL_BATCH = 5000;

const isPlacementRefusal = (error: unknown) =>
  error instanceof QueryFailedError && (error.driverError as { code?: string }).code === '42501';

/**
 * The hash chain: seals the queued events (computing each keyed link here,
 * with a key the database never sees), verifies it, signs checkpoints, and
 * prunes it by retention. See migrations/1796290400000-AuditKeyedChain.
 */
@Injectable()
export class AuditChainService {
  private refusedWithMarks = 0;

  constructor(
    private readonly dataSource: DataSource,
    private readonly chain: AuditChainRepository,
    private readonly witness: AuditWitness,
    private readonly audit: AuditService,
    @Inject(AUDIT_CHAIN_KEYS) private readonly keys: ChainKeys,
  ) {}

  /**
   * Chains up to SEAL_BATCH queued events, oldest first, then marks the
   * numbers this process knows have no event: a 'missing' link for each
   * event it saw commit that is now gone, a 'rolled_back' link for each
   * number a rolled-back write took. Returns how many events it sealed.
   * Another sealer extending the chain at the same moment makes this call
   * return 0 (its links are refused by the database's placement check), to
   * be tried again.
   */
  async seal(): Promise<number> {
    const { head, events } = await this.chain.findSealBatch(SEAL_BATCH);
    const inBatch = new Set(events.map((e) => String(e.seq)));
    const watched = this.witness.unsealed().filter((seq) => !inBatch.has(seq));
    const missing = watched.length ? await this.chain.findUnaccounted(watched) : [];
    if (watched.length) this.witness.sealed(watched.filter((seq) => !missing.includes(seq)));
    // Numbers from before the counted range (a prune moved it) need no mark.
    const rolledBack = this.witness.rolledBackNumbers().filter((seq) => BigInt(seq) >= BigInt(head.countedFrom));
    if (events.length === 0 && missing.length === 0 && rolledBack.length === 0) return 0;

    let position = BigInt(head.position);
    let prev = head.hash;
    const links: NewLink[] = [];
    const append = (eventSeq: string, hash: (p: string) => Buffer, kind: NewLink['kind']) => {
      position += 1n;
      const p = position.toString();
      const link = { position: p, eventSeq, prevHash: prev, hash: hash(p), kind };
      links.push(link);
      prev = link.hash;
    };
    for (const e of events) append(String(e.seq), (p) => keyedLinkHash(this.keys, prev, p, e), 'event');
    for (const seq of missing) append(seq, (p) => markLinkHash(this.keys, prev, p, seq, 'missing'), 'missing');
    for (const seq of rolledBack) append(seq, (p) => markLinkHash(this.keys, prev, p, seq, 'rolled_back'), 'rolled_back');
    try {
      await this.chain.insertLinks(links);
    } catch (error) {
      if (!isPlacementRefusal(error)) throw error;
      // Usually another sealer got there first. Marks the database keeps refusing are given up after a few tries
      // (audit-verify then reports those numbers as gaps) rather than stop the sealing.
      if (missing.length + rolledBack.length > 0 && ++this.refusedWithMarks >= 3) {
        this.witness.sealed([...missing, ...rolledBack]);
        this.refusedWithMarks = 0;
      }
      return 0;
    }
    this.refusedWithMarks = 0;
    this.witness.sealed([...inBatch, ...missing, ...rolledBack]);
    return events.length;
  }

  /**
   * Seals until nothing committed is pending (what audit-verify does first).
   * While another sealer extends the chain, waits for it rather than return early.
   */
  async sealAll(): Promise<number> {
    let total = 0;
    for (;;) {
      const sealed = await this.seal();
      total += sealed;
      if (sealed === SEAL_BATCH) continue;
      if ((await this.chain.countSealable()) === 0 && this.witness.rolledBackNumbers().length === 0) return total;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /** Where the chain stands now, signed: an operator keeps it outside the database and gives it back to verify(). */
  async checkpoint(): Promise<string> {
    const head = await this.chain.findHead();
    if (!head) throw new Error('The audit chain head is missing');
    return signCheckpoint(this.keys, { position: head.position, hash: head.hash, keyedFrom: head.keyedFrom, at: new Date() });
  }

  /** The checkpoint's content, or null when it is malformed or not signed with this key. */
  readCheckpoint(text: string): Checkpoint | null {
    return parseCheckpoint(this.keys, text);
  }

  /**
   * Recomputes every link of the chain, oldest first, against the events it
   * points to (keyed links with the key); reports the first one that does not
   * hold, any event in neither the chain nor the queue, and, given a
   * checkpoint, a chain that no longer passes through it.
   */
  async verify(checkpoint?: Checkpoint): Promise<VerifyResult> {
    const first = await this.verifyOnce(checkpoint);
    if (!first.result.broken?.position.startsWith('event ')) return first.result;
    // Numbers without an event may belong to transactions still running when the check began, or to a
    // rolled-back write another instance has not marked yet: wait for those to end, then look again.
    const deadline = Date.now() + IN_FLIGHT_WAIT_MS;
    while (Date.now() < deadline && (await this.chain.hasTransactionsBefore(first.horizon))) await sleep(50);
    await sleep(MARK_WAIT_MS);
    await this.sealAll();
    return (await this.verifyOnce(checkpoint)).result;
  }

  private verifyOnce(checkpoint: Checkpoint | undefined): Promise<{ result: VerifyResult; horizon: string }> {
    // One snapshot for the whole check: a sealer committing meanwhile must not look like links missing after the head.
    return this.dataSource.transaction('REPEATABLE READ', async (m) => {
      await m.query('SET TRANSACTION READ ONLY');
      const horizon = await this.chain.findSnapshotHorizon(m);
      return { result: await this.verifyIn(m, checkpoint), horizon };
    });
  }

  private linkProblem(row: LinkRow, keyedFrom: bigint): string | null {
    const keyed = BigInt(row.chain_position) >= keyedFrom;
    if (row.kind !== 'event') {
      const genuine = keyed && markLinkHash(this.keys, row.prev_hash, row.chain_position, String(row.event_seq), row.kind).equals(row.hash);
      if (!genuine) return 'the link was altered: its hash does not match';
      return row.kind === 'missing' ? `event ${row.event_seq} was recorded by the app and deleted before it could be sealed` : null;
    }
    if (row.seq === null) return 'the event this link seals is missing';
    const expected = keyed ? keyedLinkHash(this.keys, row.prev_hash, row.chain_position, row) : rowHash(row);
    return expected.equals(row.hash) ? null : 'the event was altered: the hash does not match its content';
  }

  private async verifyIn(m: EntityManager, checkpoint: Checkpoint | undefined): Promise<VerifyResult> {
    const head = await this.chain.findHead(m);
    const pending = await this.chain.countPending(m);
    const keyedFrom = BigInt(head?.keyedFrom ?? '1');
    let previous: LinkRow | null = null;
    let expectedPrev: Buffer | null = null;
    let checked = 0;
    let first: string | null = null;
    let after = '0';
    let checkpointState: VerifyResult['checkpoint'];
    const acknowledged: NumberRange[] = [];
    const result = (broken?: VerifyResult['broken'] & { gap?: NumberRange }): VerifyResult => ({
      ok: !broken,
      checked,
      first,
      last: previous?.chain_position ?? null,
      pending,
      ...(broken ? { broken: { position: broken.position, problem: broken.problem } } : {}),
      ...(broken?.gap ? { gap: broken.gap } : {}),
      ...(checkpoint && !broken ? { checkpoint: checkpointState } : {}),
      acknowledged,
    });
    if (checkpoint && head && checkpoint.keyedFrom !== head.keyedFrom) {
      return result({ position: head.keyedFrom, problem: `the keyed chain should start at ${checkpoint.keyedFrom} (checkpoint)` });
    }

    for (;;) {
      const rows = await this.chain.listLinks(m, after, VERIFY_BATCH);
      if (rows.length === 0) break;
      for (const row of rows) {
        const position = row.chain_position;
        if (previous === null) {
          first = position;
          expectedPrev = position === '1' ? GENESIS_HASH : await this.pruneAnchorFor(m, BigInt(position) - 1n);
          if (!expectedPrev) return result({ position, problem: 'earlier links are missing and no prune accounts for them' });
          if (checkpoint && BigInt(checkpoint.position) < BigInt(position)) {
            checkpointState =
              BigInt(checkpoint.position) === BigInt(position) - 1n && checkpoint.hash.equals(expectedPrev) ? 'matched' : 'predates-prune';
          }
        } else if (BigInt(position) !== BigInt(previous.chain_position) + 1n) {
          return result({ position, problem: `links ${BigInt(previous.chain_position) + 1n}..${BigInt(position) - 1n} are missing` });
        }
        if (!row.prev_hash.equals(expectedPrev as Buffer)) return result({ position, problem: 'prev_hash does not match the previous link' });
        const problem = this.linkProblem(row, keyedFrom);
        if (problem) return result({ position, problem });
        if (checkpoint && position === checkpoint.position) {
          if (!checkpoint.hash.equals(row.hash)) return result({ position, problem: 'the link differs from the checkpoint: the chain was rebuilt' });
          checkpointState = 'matched';
        }
        if (row.kind === 'acknowledged') {
          const seq = String(row.event_seq);
          const last = acknowledged.at(-1);
          if (last && BigInt(last.to) + 1n === BigInt(seq)) last.to = seq;
          else acknowledged.push({ from: seq, to: seq });
        }
        expectedPrev = row.hash;
        previous = row;
        checked++;
      }
      after = rows[rows.length - 1].chain_position;
    }
    const last = previous?.chain_position ?? '0';
    if (checkpoint && BigInt(checkpoint.position) > BigInt(last)) {
      return result({
        position: (BigInt(last) + 1n).toString(),
        problem: `the chain ends at ${last}, before the checkpoint's position ${checkpoint.position}: links were removed`,
      });
    }
    if (head && previous === null && head.position !== '0' && !(await this.pruneAnchorFor(m, BigInt(head.position)))) {
      return result({ position: head.position, problem: `links 1..${head.position} are missing and no prune accounts for them` });
    }
    if (head && previous !== null && head.position !== previous.chain_position) {
      return result({ position: head.position, problem: `the newest links after ${previous.chain_position} are missing` });
    }
    if (head && previous && !head.hash.equals(previous.hash)) {
      return result({ position: previous.chain_position, problem: 'the chain head does not match the newest link' });
    }
    const outside = await this.chain.findFirstUnqueued(m);
    if (outside) return result({ position: '-', problem: `event ${outside} is neither sealed nor queued for sealing` });
    const lost = await this.chain.findFirstLostQueued(m);
    if (lost) return result({ position: '-', problem: `event ${lost} was queued for sealing and is missing` });
    const gap = head ? await this.chain.findFirstNumberGap(m, head.countedFrom) : null;
    if (gap) {
      const numbers = gap.from === gap.to ? `number ${gap.from} was` : `numbers ${gap.from}..${gap.to} were`;
      return result({
        gap,
        position: `event ${gap.from}`,
        problem: `event ${numbers} taken and nothing accounts for it (an event deleted before it was sealed, or a write lost to a crash)`,
      });
    }
    return result();
  }

  /**
   * Acknowledges numbers from..to as lost (a PostgreSQL crash skips up to 32
   * sequence values): records who and why as an audit event, then writes a
   * keyed 'acknowledged' link for each number, so audit-verify no longer
   * reports them but lists them. Refused (GapAcknowledgementRefused, nothing
   * written) unless every number of the range is in the counted range, was
   * given out, and nothing accounts for it: an event, a link or a queue row.
   */
  async acknowledgeGap(from: string, to: string, reason: string, operator: string): Promise<{ marked: number }> {
    const refuse = (message: string) => {
      throw new GapAcknowledgementRefused(message);
    };
    if (!/^[1-9]\d{0,17}$/.test(from) || !/^[1-9]\d{0,17}$/.test(to)) refuse('--from and --to must be positive whole numbers');
    if (BigInt(from) > BigInt(to)) refuse('--from must not be greater than --to');
    if (BigInt(to) - BigInt(from) + 1n > BigInt(MAX_ACKNOWLEDGED)) refuse(`at most ${MAX_ACKNOWLEDGED} numbers can be acknowledged at once`);
    const why = reason.trim();
    if (why.length === 0) refuse('--reason must say why the numbers were lost');
    const ack = `acknowledged-gap:${from}..${to} by ${operator}: ${why}`;
    if (ack.length > 200) refuse(`the reason is too long (at most ${200 - ack.length + why.length} characters here)`);

    // A transaction running now may hold a number of the range: wait for every one to end, then seal what they wrote.
    const { last } = await this.chain.findNumbersIn(from, to);
    if (last === null || BigInt(to) > BigInt(last)) refuse(`number ${to} has not been given out yet (the last is ${last ?? 'none'})`);
    const horizon = await this.chain.findSnapshotHorizon();
    const deadline = Date.now() + ACKNOWLEDGE_WAIT_MS;
    while (await this.chain.hasTransactionsBefore(horizon)) {
      if (Date.now() > deadline) refuse('transactions that may hold these numbers are still running; try again');
      await sleep(50);
    }
    await sleep(MARK_WAIT_MS);
    await this.sealAll();
    const { countedFrom, accounted } = await this.chain.findNumbersIn(from, to);
    if (BigInt(from) < BigInt(countedFrom)) refuse(`numbers before ${countedFrom} are not counted (a retention prune or an older chain)`);
    if (accounted.length > 0) {
      const shown = accounted.slice(0, 5).join(', ') + (accounted.length > 5 ? `, … (${accounted.length} in all)` : '');
      refuse(`not a gap: something accounts for number(s) ${shown} (an event or a mark); nothing was acknowledged`);
    }

    await this.audit.record({ action: 'update', resourceType: 'audit_event', status: 200, reason: ack, actorId: null, sessionId: null });
    const numbers: string[] = [];
    for (let n = BigInt(from); n <= BigInt(to); n++) numbers.push(n.toString());
    for (let attempt = 0; ; attempt++) {
      const head = await this.chain.findHead();
      if (!head) throw new Error('The audit chain head is missing');
      let position = BigInt(head.position);
      let prev = head.hash;
      const links: NewLink[] = numbers.map((seq) => {
        position += 1n;
        const p = position.toString();
        const link = { position: p, eventSeq: seq, prevHash: prev, hash: markLinkHash(this.keys, prev, p, seq, 'acknowledged'), kind: 'acknowledged' as const };
        prev = link.hash;
        return link;
      });
      try {
        await this.chain.insertLinks(links);
        return { marked: links.length };
      } catch (error) {
        // A sealer extended the chain first: build the marks on the new head.
        if (!isPlacementRefusal(error) || attempt >= 50) throw error;
        await sleep(20);
      }
    }
  }

  /** Who acknowledged which gaps, and why (the acknowledging events' reasons), oldest first. */
  listGapAcknowledgements(): Promise<Array<{ seq: string; at: Date; reason: string }>> {
    return this.chain.listGapAcknowledgements(this.dataSource.manager);
  }

  /**
   * Deletes the events older than `retentionDays` (HIPAA keeps six years):
   * the database's audit_prune() removes the longest prefix of the chain
   * whose events are all that old, with their links; then the prune is
   * recorded as an event carrying the position and hash of the last removed
   * link, so the chain stays verifiable from the first remaining one.
   */
  async prune(retentionDays: number): Promise<{ removed: number; throughPosition: string | null }> {
    return this.dataSource.transaction(async (manager) => {
      const { removed, position, hash } = await this.chain.prune(manager, retentionDays);
      const reason = position && hash ? pruneAnchor(position, hash) : 'nothing to prune';
      await this.audit.record({ action: 'audit_pruned', status: 200, resourceType: 'audit_event', reason }, manager);
      return { removed, throughPosition: position };
    });
  }

  private async pruneAnchorFor(m: EntityManager, throughPosition: bigint): Promise<Buffer | null> {
    return parsePruneAnchor(await this.chain.findPruneReason(m, throughPosition))?.hash ?? null;
  }
}
