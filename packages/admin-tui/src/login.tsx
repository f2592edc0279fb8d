import { Box, Text } from 'ink';
import { useState } from 'react';
import { type AdminClient, readableError } from './api.js';
import { Prompt } from './ui/prompt.js';

export interface LoginProps {
  client: AdminClient;
  /** Prefilled email (the last one used); default none. */
  email?: string;
  /** Why the prompt is shown (e.g. the session expired). */
  reason?: string;
  color: boolean;
  onDone(): void;
}

type Step = { kind: 'email' } | { kind: 'password'; email: string } | { kind: 'mfa'; mfaToken: string } | { kind: 'busy' };

/** Sign in through the API: email, password, and a TOTP code when MFA is on. */
export function Login({ client, email: initialEmail, reason, color, onDone }: LoginProps) {
  const [step, setStep] = useState<Step>(initialEmail ? { kind: 'password', email: initialEmail } : { kind: 'email' });
  const [error, setError] = useState<string>();

  async function attempt(fn: () => Promise<void>, back: Step) {
    setStep({ kind: 'busy' });
    setError(undefined);
    try {
      await fn();
    } catch (failure) {
      setError(readableError(failure));
      setStep(back);
    }
  }

  return (
    <Box flexDirection="column" borderStyle="round" paddingX={1}>
      <Text bold>Sign in to {client.baseUrl}</Text>
      {reason && <Text color={color ? 'yellow' : undefined}>{reason}</Text>}
      {error && <Text color={color ? 'red' : undefined}>{error}</Text>}
      {step.kind === 'email' && <Prompt key="email" label="Email:" onSubmit={(email) => email.trim() && setStep({ kind: 'password', email: email.trim() })} onCancel={() => setError('Sign in to use the console (Ctrl+C quits)')} />}
      {step.kind === 'password' && (
        <Prompt
          key="password"
          label={`Password for ${step.email}:`}
          secret
          onCancel={() => setStep({ kind: 'email' })}
          onSubmit={(password) =>
            attempt(async () => {
              const answer = await client.signIn({ body: { email: step.email, password } });
              if ('mfaRequired' in answer) setStep({ kind: 'mfa', mfaToken: answer.mfaToken });
              else onDone();
            }, step)
          }
        />
      )}
      {step.kind === 'mfa' && (
        <Prompt
          key="mfa"
          label="Authenticator code:"
          onCancel={() => setStep({ kind: 'email' })}
          onSubmit={(code) =>
            attempt(async () => {
              await client.verifyMfa({ body: { mfaToken: step.mfaToken, code } });
              onDone();
            }, step)
          }
        />
      )}
      {step.kind === 'busy' && <Text dimColor>Signing in…</Text>}
    </Box>
  );
}
