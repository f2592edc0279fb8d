import { describe, expect, it } from 'vitest';
import { createLogger } from './index.js';

/** A logger whose JSON lines are kept in memory. */
function capture(level = 'info') {
  const lines: string[] = [];
  const logger = createLogger({ level, destination: { write: (line: string) => void lines.push(line) } });
  return { logger, lines, output: () => lines.join('') };
}

const secrets = {
  password: 'pw-hunter2',
  accessToken: 'at-eyJhbGciOi',
  refreshToken: 'rt-opaque-9f8e',
  apiKey: 'plk_live_abc123',
  authorization: 'Bearer tok-s3cr3t',
  cookie: 'sid=cookie-s3cr3t',
  setCookie: 'sid=set-cookie-s3cr3t',
  newPassword: 'pw-new-correct-horse',
  deepPassword: 'pw-four-levels-down',
  clientSecret: 'cs-oidc-secret',
};

describe('logger redaction', () => {
  it('keeps secrets out of the log while other fields stay readable', () => {
    const { logger, lines, output } = capture();
    logger.info(
      {
        password: secrets.password,
        apiKey: secrets.apiKey,
        user: { id: 'u_1', email: 'ada@example.com', accessToken: secrets.accessToken, refreshToken: secrets.refreshToken },
        req: {
          method: 'POST',
          url: '/v1/auth/sign-in',
          headers: { authorization: secrets.authorization, cookie: secrets.cookie, 'user-agent': 'vitest-agent' },
        },
        res: { statusCode: 200, headers: { 'set-cookie': secrets.setCookie, 'content-type': 'application/json' } },
        body: { newPassword: secrets.newPassword, profile: { settings: { password: secrets.deepPassword, theme: 'dark' } } },
        provider: { clientSecret: secrets.clientSecret, clientId: 'client-visible' },
      },
      'signed in',
    );
    expect(lines).toHaveLength(1);
    const text = output();
    for (const [name, value] of Object.entries(secrets)) {
      expect(text, `${name} leaked`).not.toContain(value);
    }
    const entry = JSON.parse(lines[0]!);
    expect(entry).toMatchObject({
      msg: 'signed in',
      service: 'plinth',
      password: '[redacted]',
      apiKey: '[redacted]',
      user: { id: 'u_1', email: 'ada@example.com', accessToken: '[redacted]', refreshToken: '[redacted]' },
      req: { method: 'POST', url: '/v1/auth/sign-in', headers: { authorization: '[redacted]', cookie: '[redacted]', 'user-agent': 'vitest-agent' } },
      res: { statusCode: 200, headers: { 'set-cookie': '[redacted]', 'content-type': 'application/json' } },
      body: { newPassword: '[redacted]', profile: { settings: { password: '[redacted]', theme: 'dark' } } },
      provider: { clientSecret: '[redacted]', clientId: 'client-visible' },
    });
    expect(typeof entry.time).toBe('string');
  });

  it('redacts in child loggers too', () => {
    const { logger, output } = capture();
    logger.child({ module: 'identity' }).warn({ req: { headers: { authorization: secrets.authorization } } }, 'rejected');
    const text = output();
    expect(text).not.toContain(secrets.authorization);
    expect(JSON.parse(text)).toMatchObject({ module: 'identity', msg: 'rejected', req: { headers: { authorization: '[redacted]' } } });
  });

  it('writes nothing below its level', () => {
    const { logger, lines } = capture('warn');
    logger.info({ password: secrets.password }, 'quiet');
    logger.debug('quieter');
    logger.error('loud');
    expect(lines.map((l) => JSON.parse(l).msg)).toEqual(['loud']);
  });
});
