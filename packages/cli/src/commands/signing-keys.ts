import type { IdentityService } from '@plinth/core';
import type { Command } from 'commander';
import { action } from '../action.js';
import { type CliContext, type GlobalOptions, globalOptions } from '../instance.js';
import { operate } from '../operate.js';
import { columns, printJson, printLines } from '../output.js';

/**
 * `plinth keys rotate` and `plinth keys signing`: the keys that sign access
 * tokens. Rotating creates a key that signs from now on; the old one stops
 * signing but verifies until the last token it signed has expired. A running
 * server picks the new key up within seconds; no restart.
 */

export type SigningKeyInfo = Awaited<ReturnType<IdentityService['tokens']['list']>>[number];
/** active: signs; verifying: retired, its tokens still verify; expired: nothing it signed is valid. */
export type SigningKeyState = 'active' | 'verifying' | 'expired';
export type SigningKeyRow = SigningKeyInfo & { state: SigningKeyState };

export interface SigningKeyRotation {
  /** The new key. */
  key: SigningKeyRow;
  /** Retired keys whose tokens still verify, with until when. */
  verifying: SigningKeyRow[];
}

function withState(key: SigningKeyInfo, now: number): SigningKeyRow {
  const state: SigningKeyState = !key.retiredAt ? 'active' : key.verifiesUntil && Date.parse(key.verifiesUntil) > now ? 'verifying' : 'expired';
  return { ...key, state };
}

export function gatherSigningKeys(globals: GlobalOptions, ctx: CliContext): Promise<SigningKeyRow[]> {
  return operate(globals, ctx, async (op) => {
    const now = op.plinth.clock.now();
    return (await op.identity.tokens.list()).map((k) => withState(k, now));
  });
}

export function gatherRotateSigningKey(globals: GlobalOptions, ctx: CliContext): Promise<SigningKeyRotation> {
  return operate(globals, ctx, async (op) => {
    const created = await op.identity.rotateSigningKey(op.caller);
    const now = op.plinth.clock.now();
    const all = (await op.identity.tokens.list()).map((k) => withState(k, now));
    return { key: all.find((k) => k.kid === created.kid) ?? withState(created, now), verifying: all.filter((k) => k.state === 'verifying') };
  });
}

export function printRotation(rotation: SigningKeyRotation): void {
  printLines([
    `New signing key ${rotation.key.kid} (${rotation.key.alg}): new access tokens carry it; running servers switch within seconds.`,
    ...rotation.verifying.map((k) => `Tokens signed with ${k.kid} still verify until ${k.verifiesUntil}.`),
  ]);
}

export function printSigningKeys(keys: readonly SigningKeyRow[]): void {
  if (!keys.length) return printLines(['No signing keys yet: the server creates one when it starts.']);
  const header = ['KID', 'ALG', 'STATE', 'CREATED', 'RETIRED', 'VERIFIES UNTIL'];
  printLines(columns([header, ...keys.map((k) => [k.kid, k.alg, k.state, k.createdAt, k.retiredAt ?? '-', k.retiredAt ? (k.verifiesUntil ?? '-') : '-'])], ''));
}

export function addSigningKeyCommands(keys: Command, ctx: CliContext): void {
  keys
    .command('rotate')
    .description('Rotate the access-token signing key; the old key verifies until its tokens expire')
    .action(
      action(async (_opts: object, cmd: Command) => {
        const globals = globalOptions(cmd);
        const rotation = await gatherRotateSigningKey(globals, ctx);
        if (globals.json) printJson({ ok: true, ...rotation });
        else printRotation(rotation);
      }),
    );

  keys
    .command('signing')
    .alias('list-signing')
    .description('List the signing keys: kid, created, retired, and until when each verifies')
    .action(
      action(async (_opts: object, cmd: Command) => {
        const globals = globalOptions(cmd);
        const keys = await gatherSigningKeys(globals, ctx);
        if (globals.json) printJson({ ok: true, keys });
        else printSigningKeys(keys);
      }),
    );
}
