import { parseArgs } from 'node:util';
import type { INestApplicationContext } from '@nestjs/common';
import type { AppConfig } from '../config/app-config.js';
import { AuditChainService } from './audit-chain.service.js';

export const AUDIT_COMMANDS = ['audit-verify', 'audit-prune'] as const;
export type AuditCommand = (typeof AUDIT_COMMANDS)[number];

export const AUDIT_USAGE = `  audit-verify [--checkpoint <checkpoint>] [--print-checkpoint]
      Seals what is queued, then recomputes the audit trail's keyed hash chain; exits 1 and names the first
      broken link if it does not hold. --checkpoint checks the chain still passes through a checkpoint printed
      earlier (a rebuilt or truncated chain fails); --print-checkpoint prints a signed checkpoint of the chain now.
  audit-prune
      Removes audit events older than AUDIT_RETENTION_DAYS (default 2190: six years), keeping the chain verifiable.
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
  if (values['print-checkpoint']) out(`Checkpoint: ${await chain.checkpoint()}`);
  return 0;
}
