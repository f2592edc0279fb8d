import { pino, type Logger, type LoggerOptions, type DestinationStream } from 'pino';
import { logScopeMixin } from './log-scope.js';

export type { Logger } from 'pino';

const secretKeys = [
  'password', 'newPassword', 'currentPassword', 'passwordHash',
  'token', 'accessToken', 'refreshToken', 'idToken', 'mfaToken',
  'secret', 'clientSecret', 'apiKey', 'privateKey', 'encryptionKey',
  'authorization', 'cookie', 'set-cookie', 'totpCode', 'recoveryCodes', 'otpauthUri', 'codeVerifier',
];

/**
 * pino redaction paths for the keys above, at the top level and up to three
 * levels deep (`body.password`, `req.headers.authorization`, ...).
 */
export const redactPaths: string[] = secretKeys.flatMap((key) => {
  const k = /^[A-Za-z_$][\w$]*$/.test(key) ? key : `["${key}"]`;
  const dot = k.startsWith('[') ? k : `.${k}`;
  return [k, `*${dot}`, `*.*${dot}`, `*.*.*${dot}`];
});

export interface LoggerConfig {
  level: string;
  /** Pretty output is left to the operator (`| pino-pretty`); Plinth writes JSON lines. */
  destination?: DestinationStream;
  base?: Record<string, unknown>;
}

export function createLogger(config: LoggerConfig): Logger {
  const options: LoggerOptions = {
    level: config.level,
    base: config.base ?? { service: 'plinth' },
    redact: { paths: redactPaths, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
    // Lines written while a request is served or a job runs carry its ids (`log-scope.ts`).
    mixin: logScopeMixin,
  };
  return config.destination ? pino(options, config.destination) : pino(options);
}
