export const FAKE_SELECT = 'SELECT /* fake */';

/** A query builder that records what a service asks of it (with args) and answers `execute`/`getMany` as told. */
export class FakeQueryBuilder<Row = unknown> {
  calls: [string, ...unknown[]][] = [];
  constructor(
    private readonly answer: () => Promise<unknown>,
    private readonly rows: () => Promise<Row[]> = async () => [],
  ) {}
  private record(name: string, args: unknown[]) {
    this.calls.push([name, ...args]);
    return this;
  }
  insert() {
    return this.record('insert', []);
  }
  update() {
    return this.record('update', []);
  }
  delete() {
    return this.record('delete', []);
  }
  values(...args: unknown[]) {
    return this.record('values', args);
  }
  set(...args: unknown[]) {
    return this.record('set', args);
  }
  where(...args: unknown[]) {
    return this.record('where', args);
  }
  addSelect(...args: unknown[]) {
    return this.record('addSelect', args);
  }
  andWhere(...args: unknown[]) {
    return this.record('andWhere', args);
  }
  innerJoin(...args: unknown[]) {
    return this.record('innerJoin', args);
  }
  innerJoinAndSelect(...args: unknown[]) {
    return this.record('innerJoinAndSelect', args);
  }
  returning(...args: unknown[]) {
    return this.record('returning', args);
  }
  orderBy(...args: unknown[]) {
    return this.record('orderBy', args);
  }
  addOrderBy(...args: unknown[]) {
    return this.record('addOrderBy', args);
  }
  limit(...args: unknown[]) {
    return this.record('limit', args);
  }
  /** The SQL a prepared fetch runs: a marker the spec's fake PreparedSql answers with the rows. */
  getQueryAndParameters(): [string, unknown[]] {
    this.record('getQueryAndParameters', []);
    return [FAKE_SELECT, []];
  }
  /** Answers like execute(): one row or null, as told. */
  getOne() {
    return this.answer();
  }
  execute() {
    return this.answer();
  }
  getMany() {
    return this.rows();
  }
  called(name: string) {
    return this.calls.filter(([n]) => n === name).map(([, ...args]) => args);
  }
}
