import { userInfo } from 'node:os';
import { parseArgs } from 'node:util';
import type { INestApplicationContext } from '@nestjs/common';
import type { AppConfig } from '../config/app-config.js';
import { AuditChainService, GapAcknowledgementRefused } from './audit-chain.service.js';

export const AUDIT_COMMANDS = ['audit-verify', 'audit-prune', 'audit-acknowledge-gap'] as const;
export type AuditCommand = (typeof AUDIT_COMMANDS)[number];

export const AUDIT_USAGE = `  audit-verify [--checkpoint <checkpoint>] [--print-checkpoint]
      Seals what is queued, then recomputes the audit trail's keyed hash chain; exits 1 and names the first
      broken link if it does not hold. --checkpoint checks the chain still passes through a checkpoint printed
      earlier (a rebuilt or truncated chain fails); --print-checkpoint prints a signed checkpoint of the chain now.
  audit-prune
      Removes audit events older than AUDIT_RETENTION_DAYS (default 2190: six years), keeping the chain verifiable.
  audit-acknowledge-gap --from N --to M --reason "..." [--by NAME]
      Acknowledges event numbers N..M as lost (a PostgreSQL crash skips up to 32): refused unless nothing accounts
      for any of them. Writes a keyed 'acknowledged' mark for each and an audit event naming the operator (--by,
      else the OS user), the range and the reason; audit-verify then lists the range instead of failing on it.
`;

export const isAuditCommand = (command: string | undefined): command is AuditCommand =>
  (AUDIT_COMMANDS as readonly string[]).includes(command ?? '');

/** Runs an audit command in a booted app context; returns the exit code. */
export async function runAuditCommand(
  app: INestApplicationContext,
  config: AppConfig,
  command: AuditCommand,
  args: string[],
): Promise<number> {
  const chain = app.get(AuditChainService);
  const out = (line: string) => process.stdout.write(`${line}\n`);
  if (command === 'audit-prune') {
    parseArgs({ args, options: {}, strict: true });
    const days = config.audit.retentionDays;
    const { removed, throughPosition } = await chain.prune(days);
    out(
      removed > 0
        ? `Removed ${removed} audit events older than ${days} days (chain links through ${throughPosition}); the prune itself is recorded.`
        : `No audit event is older than ${days} days; the check itself is recorded.`,
    );
    return 0;
  }
  if (command === 'audit-acknowledge-gap') {
    const { values } = parseArgs({
      args,
      options: { from: { type: 'string' }, to: { type: 'string' }, reason: { type: 'string' }, by: { type: 'string' } },
      strict: true,
    });
    if (values.from === undefined || values.to === undefined || values.reason === undefined) {
      out('audit-acknowledge-gap needs --from, --to and --reason.');
      return 2;
    }
    const operator = values.by?.trim() || userInfo().username;
    try {
      const { marked } = await chain.acknowledgeGap(values.from, values.to, values.reason, operator);
      out(`Acknowledged event numbers ${values.from}..${values.to} as lost (${marked} keyed marks), by ${operator}; recorded in the audit trail.`);
      return 0;
    } catch (error) {
      if (!(error instanceof GapAcknowledgementRefused)) throw error;
      out(`Refused: ${error.message}.`);
      return 1;
    }
  }
  const { values } = parseArgs({
    args,
    options: { checkpoint: { type: 'string' }, 'print-checkpoint': { type: 'boolean' } },
    strict: true,
  });
  const checkpoint = values.checkpoint === undefined ? undefined : chain.readCheckpoint(values.checkpoint);
  if (checkpoint === null) {
    out('The checkpoint is malformed or was not signed with this AUDIT_CHAIN_KEY.');
    return 2;
  }
  // Events written in the last moments are queued; chain them first so everything is checked.
  await chain.sealAll();
  const result = await chain.verify(checkpoint);
  if (!result.ok) {
    const atLink = /^\d+$/.test(result.broken?.position ?? '');
    const where = atLink ? `link ${result.broken?.position}` : result.broken?.position;
    out(`Audit trail BROKEN at ${where}: ${result.broken?.problem} (${result.checked} links ${atLink ? 'before it ' : ''}hold).`);
    if (result.gap) {
      out(
        `If PostgreSQL crashed (it can skip up to 32 numbers) and nothing else explains these numbers, acknowledge them:` +
          ` npm run cli -- audit-acknowledge-gap --from ${result.gap.from} --to ${result.gap.to} --reason "<what happened>"`,
      );
    }
    return 1;
  }
  const range = result.first ? ` (links ${result.first}..${result.last})` : '';
  const pending = result.pending ? `; ${result.pending} written since, not sealed yet` : '';
  const against =
    result.checkpoint === 'matched'
      ? `; it passes through the checkpoint at ${checkpoint?.position}`
      : result.checkpoint === 'predates-prune'
        ? `; the checkpoint at ${checkpoint?.position} is older than the retention prune and cannot be checked`
        : '';
  out(`Audit trail intact: ${result.checked} events checked${range}${pending}${against}.`);
  if (result.acknowledged.length > 0) {
    const ranges = result.acknowledged.map((r) => (r.from === r.to ? r.from : `${r.from}..${r.to}`)).join(', ');
    out(`Acknowledged as lost (keyed marks, not events): numbers ${ranges}.`);
    for (const ack of await chain.listGapAcknowledgements()) out(`  event ${ack.seq} at ${new Date(ack.at).toISOString()}: ${ack.reason}`);
  }
  if (values['print-checkpoint']) out(`Checkpoint: ${await chain.checkpoint()}`);
  return 0;
}
