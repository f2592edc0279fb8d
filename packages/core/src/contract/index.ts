/**
 * `@plinth/core/contract`: the API's routes and schemas, shared by the server
 * (which implements them) and the client SDK (which is typed from them).
 * Imports zod and nothing else: no database or Redis driver.
 */
export { defineRoute } from './route.js';
export type { HttpMethod, RouteDef, RouteParams, RouteQuery, RouteBody, RouteResponse, RouteInput } from './route.js';
export { kernelRoutes, healthResponse, readyResponse } from './kernel-routes.js';
export type { KernelRoutes } from './kernel-routes.js';
export { problemSchema, problemType, PROBLEM_CONTENT_TYPE } from './problem.js';
export type { Problem } from './problem.js';
export { buildOpenApi } from './openapi.js';
export type { OpenApiInfo } from './openapi.js';
export { PlinthError, errorStatus, statusForCode, isPlinthError } from '../errors.js';
export type { ErrorCode, KernelErrorCode, FieldError } from '../errors.js';
export {
  identityRoutes, identityErrors, userSchema, tokensSchema, mfaRequiredSchema, sessionSchema, apiKeySchema,
  emailSchema, passwordSchema, normalizeEmail, pageQuery, listOf, permissionSchema,
} from './identity.js';
export type { IdentityErrorCode, User, Tokens } from './identity.js';
export { accessRoutes, accessErrors, builtinRoles, orgRoles, roleSchema, orgSchema, memberSchema } from './access.js';
export type { AccessErrorCode } from './access.js';
