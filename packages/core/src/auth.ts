import { PlinthError } from './errors.js';

/** Who is calling. Every permission check takes one. */
export type Actor =
  | {
      kind: 'user';
      userId: string;
      /** The session (refresh-token family) the access token belongs to. */
      sessionId: string;
      roles: readonly string[];
    }
  | {
      kind: 'api_key';
      keyId: string;
      /** The user who owns the key; the key never has more rights than they do. */
      userId: string;
      roles: readonly string[];
      /** Permissions the key was limited to when created. */
      scopes: readonly string[];
    }
  | {
      /** Plinth itself: jobs, the CLI, migrations. Allowed everything. */
      kind: 'system';
      name: string;
    };

/** What a permission is checked against: its owner and organization, for ownership rules. */
export interface ResourceRef {
  type: string;
  id?: string;
  /** The user who owns it (a customer's own order, key, session...). */
  ownerId?: string | null;
  /** The organization it belongs to. */
  orgId?: string | null;
}

/** Credentials as they arrive with a request. */
export interface Credentials {
  /** The `Authorization` header. */
  authorization?: string | undefined;
  /** The `X-API-Key` header. */
  apiKey?: string | undefined;
  ip?: string;
  userAgent?: string | undefined;
}

/**
 * The two halves of access control, provided by modules (`identity`
 * authenticates, `access` decides). With neither loaded, nobody is
 * authenticated and only the system actor is allowed anything.
 */
export interface AuthHooks {
  /** The actor behind the credentials, `null` when none were sent; throws 401 for bad ones. */
  authenticate(credentials: Credentials): Promise<Actor | null>;
  /**
   * `authenticate` answered synchronously when it can be (e.g. a Bearer header verified before,
   * until its token expires), else `undefined`: then call `authenticate`. Only used when the same
   * module provides both.
   */
  authenticateNow?(credentials: Credentials): Actor | undefined;
  /** The one policy point: may `actor` do `permission` (on `resource`)? */
  can(actor: Actor | null, permission: string, resource?: ResourceRef): Promise<boolean>;
}

export const systemActor = (name = 'system'): Actor => ({ kind: 'system', name });

export function unauthenticated(message = 'Sign in, or send an API key'): PlinthError {
  return new PlinthError('auth.unauthenticated', message, { status: 401 });
}

export function forbidden(message = 'You are not allowed to do this'): PlinthError {
  return new PlinthError('auth.forbidden', message, { status: 403 });
}
