import { z } from 'zod';
import { moneySchema } from '../../contract/money.js';
import { defineModule, type PermissionDeclaration } from '../../module.js';
import { createFakeProvider } from './fake-provider.js';
import { paymentsMigrations } from './migrations.js';
import type { PaymentProvider } from './provider.js';
import { paymentsRouteImplementations } from './routes.js';
import { createPaymentsService, type PaymentsService } from './service.js';

export const paymentsPermissions = {
  'payments:create': { description: 'Pay orders I may see (my own; staff: any)', grantedTo: ['customer', 'staff'] },
  'payments:refund': { description: 'Refund captured payments, optionally restocking (audited)', grantedTo: ['staff'] },
} as const satisfies Record<string, PermissionDeclaration>;

export const paymentsEvents = {
  'payment.succeeded': z.object({ id: z.string(), orderId: z.string(), provider: z.string(), amount: moneySchema, orderPaid: z.boolean() }),
  'payment.failed': z.object({ id: z.string(), orderId: z.string(), provider: z.string(), failureCode: z.string() }),
};

export interface PaymentsModuleOptions {
  /**
   * Providers by name (the name is the webhook path segment: `/v1/payments/webhooks/<name>`), or a
   * function making them (called once per app); default `{ fake: createFakeProvider() }`.
   */
  providers?: Record<string, PaymentProvider> | (() => Record<string, PaymentProvider>);
  /** The provider new intents are opened with; default the first one. */
  defaultProvider?: string;
}

/**
 * The payments module: `createPaymentsModule({ providers: { fake: createFakeProvider(...) } })`.
 * Swap it for the built-in one: `builtinModules.map((m) => (m.name === 'payments' ? mine : m))`.
 */
export function createPaymentsModule(options: PaymentsModuleOptions = {}) {
  return defineModule({
    name: 'payments',
    dependsOn: ['identity', 'access', 'audit', 'inventory', 'orders'],
    migrations: paymentsMigrations,
    permissions: paymentsPermissions,
    events: paymentsEvents,
    routes: paymentsRouteImplementations,
    services: (kernel) => {
      const providers = typeof options.providers === 'function' ? options.providers() : (options.providers ?? { fake: createFakeProvider() });
      const names = Object.keys(providers);
      const defaultProvider = options.defaultProvider ?? names[0];
      if (!defaultProvider || !Object.hasOwn(providers, defaultProvider)) {
        throw new Error(`payments: the default provider "${defaultProvider ?? ''}" is not among the providers (${names.join(', ') || 'none'})`);
      }
      return createPaymentsService(kernel, Object.freeze({ ...providers }), defaultProvider);
    },
    onStart: async (kernel) => {
      for (const [name, provider] of Object.entries(kernel.service<PaymentsService>('payments').providers)) await provider.start?.(kernel, name);
    },
    onClose: async (kernel) => {
      for (const provider of Object.values(kernel.service<PaymentsService>('payments').providers)) await provider.close?.();
    },
  });
}

/** Payments with the fake provider (the development default: confirms within a second through the signed webhook). */
export const paymentsModule = createPaymentsModule({ providers: () => ({ fake: createFakeProvider() }) });

export { createFakeProvider, FAKE_SIGNATURE_HEADER, SIGNATURE_TOLERANCE_SECONDS } from './fake-provider.js';
export type { FakeProvider, FakeProviderOptions, FakeScenario } from './fake-provider.js';
export type { PaymentProvider, ProviderEvent } from './provider.js';
export type { PaymentsService, PaymentIntent, PaymentRefund, RefundResult } from './service.js';
