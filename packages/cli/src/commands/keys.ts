import type { Command } from 'commander';
import type { CliContext } from '../instance.js';
import { addApiKeyCommands } from './api-keys.js';
import { addRotateEncryptionCommand } from './rotate-encryption.js';
import { addSigningKeyCommands } from './signing-keys.js';

/** `plinth keys ...`: API keys (create, list, revoke), signing keys (rotate, signing), encryption (rotate-encryption). */
export function addKeysCommand(program: Command, ctx: CliContext): Command {
  const keys = program
    .command('keys')
    .description('API keys for machines, access-token signing keys, and the encryption of secrets at rest')
    .addHelpText('after', '\nWorks on the server\'s database while it runs; every change is audited with the actor "cli".');
  addApiKeyCommands(keys, ctx);
  addSigningKeyCommands(keys, ctx);
  addRotateEncryptionCommand(keys, ctx);
  return keys;
}
