import type { AuditService, AuditVerification } from '@plinth/core';
import { type Command, InvalidArgumentError } from 'commander';
import { action } from '../action.js';
import { type CliContext, globalOptions } from '../instance.js';
import { operate } from '../operate.js';
import { printJson, printLines, writeOutput } from '../output.js';

/**
 * `plinth audit verify|export`: the tamper-evident audit log. `verify` walks
 * the hash chain and names the first broken link (exit code 1); `export`
 * writes events as JSON Lines, oldest first.
 */

function parseTime(value: string): string {
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw new InvalidArgumentError('must be a date or time, e.g. 2026-01-31 or 2026-01-31T12:00:00Z.');
  return new Date(ms).toISOString();
}

export function printVerification(report: AuditVerification): void {
  if (report.ok) {
    printLines([`The audit chain holds: ${report.events} event${report.events === 1 ? '' : 's'}, head #${report.headSeq} ${report.headHash}`]);
  } else {
    printLines([`The audit chain is BROKEN at #${report.brokenAt.seq}${report.brokenAt.id ? ` (${report.brokenAt.id})` : ''}: ${report.message}`, `${report.events} event(s) before it verified.`]);
  }
}

export function addAuditCommand(program: Command, ctx: CliContext): Command {
  const audit = program
    .command('audit')
    .description('Verify and export the tamper-evident audit log')
    .addHelpText('after', '\nEach audit event carries the hash of the one before it: a changed, removed or inserted event breaks the chain.');

  audit
    .command('verify')
    .description('Walk the hash chain and report the first broken link (exit code 1 when broken)')
    .action(
      action(async (_opts: object, cmd: Command) => {
        const globals = globalOptions(cmd);
        const report = await operate(globals, ctx, (op) => op.plinth.service<AuditService>('audit').verify());
        if (globals.json) printJson(report);
        else printVerification(report);
        return report.ok ? 0 : 1;
      }),
    );

  audit
    .command('export')
    .description('Write audit events as JSON Lines, oldest first')
    .option('--since <time>', 'events at or after this time', parseTime)
    .option('--until <time>', 'events before this time', parseTime)
    .option('--out <file>', 'write to this file (complete or not at all) instead of stdout')
    .action(
      action(async (opts: { since?: string; until?: string; out?: string }, cmd: Command) => {
        const globals = globalOptions(cmd);
        let count = 0;
        await writeOutput(opts.out, (write) =>
          operate(globals, ctx, async (op) => {
            for await (const event of op.plinth.service<AuditService>('audit').stream({ since: opts.since, until: opts.until })) {
              await write(`${JSON.stringify(event)}\n`);
              count++;
            }
          }),
        );
        if (opts.out) {
          if (globals.json) printJson({ ok: true, events: count, file: opts.out });
          else printLines([`Exported ${count} audit event${count === 1 ? '' : 's'} to ${opts.out}`]);
        }
      }),
    );
  return audit;
}
