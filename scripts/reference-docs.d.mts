/** Types of reference-docs.mjs, for the tests that run its renderers over the sources. */
export function renderConfigurationDoc(
  config: { configSchema: unknown; envKeys: Record<string, string>; parseConfig: (input?: unknown) => unknown },
  source: string,
  ts: typeof import('typescript'),
): string;
export function renderCliDoc(program: import('commander').Command): string;
export function configComments(source: string, ts: typeof import('typescript')): Map<string, string>;
