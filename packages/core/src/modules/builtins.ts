import type { AnyModule } from '../module.js';
import { accessModule } from './access/index.js';
import { auditModule } from './audit/index.js';
import { identityModule } from './identity/index.js';

/** The modules `createPlinth` loads unless told otherwise. */
export const builtinModules: readonly AnyModule[] = [auditModule, identityModule, accessModule];
