import { IdentifierNode, RawNode } from 'kysely';

/** `savepoint x` / `rollback to x` / `release x`, with the name escaped as an identifier. */
export function parseSavepointCommand(command: string, savepointName: string): RawNode {
  return RawNode.createWithChildren([RawNode.createWithSql(`${command} `), IdentifierNode.create(savepointName)]);
}
