import { Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { DataSource, type EntityManager, type QueryRunner } from 'typeorm';

/** Enough for minutes of unsealed events at full load; beyond it the oldest are forgotten (and that is logged). */
const MAX_WITNESSED = 200_000;

interface Written {
  seq: string;
  /** The transaction depth it was written at (1: the transaction itself, more: a savepoint). */
  depth: number;
}

// TypeORM keeps the depth protected; savepoints are its only way to nest, and the witness must tell them apart.
const depthOf = (runner: QueryRunner) => (runner as unknown as { transactionDepth?: number }).transactionDepth ?? 1;

/**
 * What this process knows about the event numbers it took, until the sealer
 * has accounted for them (issue 11, item 3: every number is accounted for):
 *
 * - numbers whose event it saw commit: one deleted from the database before
 *   it is sealed (with its queue row, triggers off, by someone holding the
 *   chain head) leaves no trace there, but this process still knows it, and
 *   the sealer writes a keyed 'missing' link for it, which audit-verify
 *   reports;
 * - numbers a write took and then rolled back: the sealer writes a
 *   'rolled_back' link, so the gap they leave is explained in the chain.
 *
 * A process that dies forgets what it witnessed; audit-verify then reports
 * the unexplained numbers as gaps.
 */
@Injectable()
export class AuditWitness implements OnModuleInit {
  private readonly logger = new Logger(AuditWitness.name);
  private readonly committed = new Set<string>();
  private readonly rolledBack = new Set<string>();
  private readonly inTransaction = new WeakMap<QueryRunner, Written[]>();
  private forgotten = 0;

  constructor(private readonly dataSource: DataSource) {}

  onModuleInit(): void {
    // An event written in a caller's transaction counts once that transaction commits.
    this.dataSource.subscribers.push({
      afterTransactionCommit: ({ queryRunner }: { queryRunner: QueryRunner }) => this.ended(queryRunner, 'commit'),
      afterTransactionRollback: ({ queryRunner }: { queryRunner: QueryRunner }) => this.ended(queryRunner, 'rollback'),
    });
  }

  /** An event was inserted with this number, on its own or in `manager`'s transaction. */
  written(seq: string, manager?: EntityManager): void {
    const runner = manager?.queryRunner;
    if (runner?.isTransactionActive) {
      const list = this.inTransaction.get(runner) ?? [];
      list.push({ seq, depth: depthOf(runner) });
      this.inTransaction.set(runner, list);
    } else {
      this.add(this.committed, seq);
    }
  }

  /** A transaction or savepoint ended; TypeORM has already moved its depth to the enclosing level. */
  private ended(runner: QueryRunner, how: 'commit' | 'rollback'): void {
    const list = this.inTransaction.get(runner);
    if (!list) return;
    const depth = runner.isTransactionActive ? depthOf(runner) : 0;
    const kept: Written[] = [];
    for (const item of list) {
      if (item.depth <= depth) kept.push(item);
      else if (how === 'rollback') this.add(this.rolledBack, item.seq);
      else if (depth === 0) this.add(this.committed, item.seq);
      // A released savepoint: its events now belong to the enclosing level.
      else kept.push({ seq: item.seq, depth });
    }
    if (kept.length) this.inTransaction.set(runner, kept);
    else this.inTransaction.delete(runner);
  }

  /** Committed events not known to be sealed yet, oldest first. */
  unsealed(): string[] {
    return [...this.committed];
  }

  /** Numbers taken by writes that rolled back, not yet marked in the chain. */
  rolledBackNumbers(): string[] {
    return [...this.rolledBack];
  }

  /** These numbers are in the chain now (as events or as marks). */
  sealed(seqs: Iterable<string>): void {
    for (const seq of seqs) {
      this.committed.delete(seq);
      this.rolledBack.delete(seq);
    }
  }

  private add(set: Set<string>, seq: string): void {
    set.add(seq);
    if (set.size > MAX_WITNESSED) {
      const oldest = set.values().next().value as string;
      set.delete(oldest);
      if (this.forgotten++ === 0) this.logger.warn('audit events are not being sealed: the oldest unsealed numbers are no longer watched');
    }
  }
}
