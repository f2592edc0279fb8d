import { PlinthError, type WebhookDelivery, type WebhookEndpoint, type WebhooksService } from '@plinth/core';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { action } from '../action.js';
import { type CliContext, type GlobalOptions, globalOptions } from '../instance.js';
import { operate, type Operation } from '../operate.js';
import { columns, printJson, printLines } from '../output.js';

/**
 * `plinth webhooks ...`: the outbound webhook endpoints of a deployment, their
 * deliveries, and replays (audited with the actor `cli`). Secrets are never printed.
 */

export interface WebhookDeliveryQuery {
  status?: 'pending' | 'succeeded' | 'failed' | undefined;
  eventType?: string | undefined;
  limit: number;
  cursor?: string | undefined;
}

function webhooksService(op: Operation): WebhooksService {
  const service = op.plinth.optionalService<WebhooksService>('webhooks');
  if (!service) throw new PlinthError('modules.invalid', 'The webhooks module is not loaded: webhooks commands need it');
  return service;
}

export function gatherEndpoints(globals: GlobalOptions, ctx: CliContext, limit: number): Promise<{ endpoints: WebhookEndpoint[] }> {
  return operate(globals, ctx, async (op) => {
    const endpoints: WebhookEndpoint[] = [];
    let cursor: string | undefined;
    do {
      const page = await webhooksService(op).listEndpoints({ limit: Math.min(100, limit - endpoints.length), cursor }, op.caller);
      endpoints.push(...page.data);
      cursor = page.nextCursor ?? undefined;
    } while (cursor && endpoints.length < limit);
    return { endpoints };
  });
}

export function gatherDeliveries(globals: GlobalOptions, ctx: CliContext, endpointId: string, query: WebhookDeliveryQuery): Promise<{ deliveries: WebhookDelivery[]; nextCursor: string | null }> {
  return operate(globals, ctx, async (op) => {
    const deliveries: WebhookDelivery[] = [];
    let cursor = query.cursor;
    for (;;) {
      const page = await webhooksService(op).listDeliveries(endpointId, { ...query, limit: Math.min(100, query.limit - deliveries.length), cursor }, op.caller);
      deliveries.push(...page.data);
      cursor = page.nextCursor ?? undefined;
      if (!cursor || deliveries.length >= query.limit) return { deliveries, nextCursor: page.nextCursor };
    }
  });
}

export type ReplayResult = { kind: 'one'; delivery: WebhookDelivery } | { kind: 'range'; replayed: number };

export function gatherReplay(
  globals: GlobalOptions,
  ctx: CliContext,
  endpointId: string,
  target: { deliveryId?: string | undefined; since?: string | undefined; until?: string | undefined; all?: boolean | undefined },
): Promise<ReplayResult> {
  return operate(globals, ctx, async (op) => {
    const service = webhooksService(op);
    if (target.deliveryId) return { kind: 'one', delivery: await service.replayDelivery(endpointId, target.deliveryId, op.caller) };
    const { replayed } = await service.replayRange(endpointId, { since: target.since!, until: target.until, onlyFailed: !target.all }, op.caller);
    return { kind: 'range', replayed };
  });
}

const shortTime = (iso: string | null) => (iso ? iso.replace('T', ' ').slice(0, 19) : '-');

export function printEndpoints({ endpoints }: { endpoints: WebhookEndpoint[] }): void {
  if (!endpoints.length) return printLines(['No webhook endpoints.']);
  const header = ['ID', 'URL', 'EVENTS', 'STATE', 'FAILURES', 'CREATED'];
  const rows = endpoints.map((e) => [e.id, e.url, e.events.join(','), e.enabled ? 'enabled' : `disabled (${e.disabledReason ?? '-'})`, String(e.consecutiveFailures), shortTime(e.createdAt)]);
  printLines(columns([header, ...rows], ''));
}

export function printDeliveries(list: { deliveries: WebhookDelivery[]; nextCursor: string | null }): void {
  if (!list.deliveries.length) return printLines(['No deliveries match.']);
  const header = ['ID', 'EVENT', 'STATUS', 'ATTEMPTS', 'LAST STATUS', 'NEXT ATTEMPT', 'CREATED', 'LAST ERROR'];
  const rows = list.deliveries.map((d) => [
    d.id, d.eventType, d.status, String(d.attempts), d.lastStatusCode === null ? '-' : String(d.lastStatusCode), shortTime(d.nextAttemptAt), shortTime(d.createdAt), (d.lastError ?? '-').slice(0, 60),
  ]);
  const count = `${list.deliveries.length} deliver${list.deliveries.length === 1 ? 'y' : 'ies'}`;
  printLines([...columns([header, ...rows], ''), list.nextCursor ? `${count}; more with --cursor ${list.nextCursor}` : count]);
}

function parseLimit(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > 10_000) throw new InvalidArgumentError('must be a whole number from 1 to 10000.');
  return n;
}

function parseTime(value: string): string {
  if (Number.isNaN(Date.parse(value)) || !/^\d{4}-\d{2}-\d{2}/.test(value)) throw new InvalidArgumentError('must be a date or an RFC 3339 time, e.g. 2026-01-31T09:00:00Z.');
  return new Date(value).toISOString();
}

export function addWebhooksCommand(program: Command, ctx: CliContext): Command {
  const webhooks = program
    .command('webhooks')
    .description('Outbound webhook endpoints, their deliveries and replays')
    .addHelpText('after', '\nReplays are audited with the actor "cli". Secrets are never printed.');

  webhooks
    .command('list')
    .description('List webhook endpoints: id, URL, events, enabled or why disabled, failures in a row')
    .option('--limit <n>', 'how many at most', parseLimit, 100)
    .action(
      action(async (opts: { limit: number }, cmd: Command) => {
        const globals = globalOptions(cmd);
        const result = await gatherEndpoints(globals, ctx, opts.limit);
        if (globals.json) printJson({ ok: true, ...result });
        else printEndpoints(result);
      }),
    );

  webhooks
    .command('deliveries')
    .description("An endpoint's deliveries, newest first")
    .argument('<endpoint-id>', 'endpoint id')
    .addOption(new Option('--status <status>', 'only deliveries in this status').choices(['pending', 'succeeded', 'failed']))
    .option('--event-type <type>', 'only deliveries of this event type')
    .option('--limit <n>', 'how many at most', parseLimit, 50)
    .option('--cursor <cursor>', 'continue after a previous list (its nextCursor)')
    .action(
      action(async (endpointId: string, opts: WebhookDeliveryQuery, cmd: Command) => {
        const globals = globalOptions(cmd);
        const result = await gatherDeliveries(globals, ctx, endpointId, opts);
        if (globals.json) printJson({ ok: true, ...result });
        else printDeliveries(result);
      }),
    );

  webhooks
    .command('replay')
    .description('Send deliveries again: one (--delivery) or those made in a time range (--since [--until]; failed ones unless --all)')
    .argument('<endpoint-id>', 'endpoint id')
    .option('--delivery <id>', 'the delivery to send again')
    .option('--since <time>', 'replay deliveries made at or after this time', parseTime)
    .option('--until <time>', 'and at or before this time (default now)', parseTime)
    .option('--all', 'replay succeeded deliveries of the range too, not only failed ones')
    .action(
      action(async (endpointId: string, opts: { delivery?: string; since?: string; until?: string; all?: boolean }, cmd: Command) => {
        const globals = globalOptions(cmd);
        if (!opts.delivery === !opts.since) throw new PlinthError('validation.failed', 'Give either --delivery <id> or --since <time>');
        const result = await gatherReplay(globals, ctx, endpointId, { deliveryId: opts.delivery, since: opts.since, until: opts.until, all: opts.all });
        if (globals.json) printJson({ ok: true, ...(result.kind === 'one' ? { delivery: result.delivery } : { replayed: result.replayed }) });
        else if (result.kind === 'one') printLines([`Queued delivery ${result.delivery.id} (${result.delivery.eventType}) to be sent again; a worker sends it within its poll interval.`]);
        else printLines([`Queued ${result.replayed} deliver${result.replayed === 1 ? 'y' : 'ies'} to be sent again.`]);
      }),
    );
  return webhooks;
}
