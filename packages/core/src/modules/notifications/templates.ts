/**
 * Notification templates: per key (usually an event: `order.receipt`) and channel, with
 * `{{variables}}`. The built-in text is version 0; staff edits are stored as versions
 * 1, 2, ... and the highest one is used. A delivery remembers the version it was made with.
 */
import type { NotificationChannel } from '../../contract/notifications.js';

export interface TemplateText {
  /** Email subject, in-app title; none for SMS. */
  subject?: string;
  body: string;
}

export interface TemplateDefinition {
  /** Preference category: `account`, `orders`, ... */
  category: string;
  /** The variables its text may use. */
  variables: readonly string[];
  /** Built-in text per channel; the channels the template exists for. */
  channels: Partial<Record<NotificationChannel, TemplateText>>;
}

export interface CategoryDefinition {
  description: string;
  /** Messages a user cannot opt out of (account security, receipts). */
  transactional: boolean;
}

export const defaultCategories: Record<string, CategoryDefinition> = {
  account: { description: 'Email verification, password reset and other account security messages', transactional: true },
  orders: { description: 'Receipts and other messages about payments', transactional: true },
  shipping: { description: 'Shipping notices', transactional: false },
  operations: { description: 'Alerts for staff (webhook endpoints disabled, ...)', transactional: false },
  marketing: { description: 'News and offers', transactional: false },
};

export const defaultTemplates: Record<string, TemplateDefinition> = {
  'identity.verify_email': {
    category: 'account',
    variables: ['greeting', 'link', 'lifetime'],
    channels: {
      email: {
        subject: 'Confirm your email address',
        body: '{{greeting}}\n\nPlease confirm your email address by opening this link:\n\n{{link}}\n\nThe link works once and expires in {{lifetime}}. If you did not create an account, you can ignore this message.\n',
      },
    },
  },
  'identity.password_reset': {
    category: 'account',
    variables: ['greeting', 'link', 'lifetime'],
    channels: {
      email: {
        subject: 'Reset your password',
        body: '{{greeting}}\n\nSomeone (hopefully you) asked to reset the password of your account. To choose a new password, open this link:\n\n{{link}}\n\nThe link works once and expires in {{lifetime}}. If you did not ask for this, ignore this message: your password stays as it is.\n',
      },
    },
  },
  'order.receipt': {
    category: 'orders',
    variables: ['greeting', 'orderId', 'total', 'link'],
    channels: {
      email: {
        subject: 'Your receipt for order {{orderId}}',
        body: '{{greeting}}\n\nThank you for your order. We received your payment of {{total}} for order {{orderId}}.\n\nSee your order: {{link}}\n',
      },
      in_app: { subject: 'Payment received', body: 'We received your payment of {{total}} for order {{orderId}}.' },
    },
  },
  'order.shipped': {
    category: 'shipping',
    variables: ['greeting', 'orderId', 'link'],
    channels: {
      email: { subject: 'Order {{orderId}} is on its way', body: '{{greeting}}\n\nGood news: order {{orderId}} has shipped.\n\nSee your order: {{link}}\n' },
      sms: { body: 'Order {{orderId}} has shipped.' },
      in_app: { subject: 'Order shipped', body: 'Order {{orderId}} is on its way.' },
    },
  },
  'webhooks.endpoint_disabled': {
    category: 'operations',
    variables: ['url', 'endpointId', 'reason'],
    channels: {
      email: {
        subject: 'Webhook endpoint disabled: {{url}}',
        body: 'The webhook endpoint {{url}} ({{endpointId}}) was disabled: {{reason}}\n\nFix the receiver, then enable it again and replay what it missed.\n',
      },
      in_app: { subject: 'Webhook endpoint disabled', body: '{{url}} was disabled: {{reason}}' },
    },
  },
};

const VARIABLE = /\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g;

/** The variable names a text uses. */
export function variablesOf(text: string): string[] {
  return [...new Set([...text.matchAll(VARIABLE)].map((m) => m[1]!))];
}

/** Fills `{{name}}` with the variable's text; a missing one becomes empty. */
export function render(text: string, variables: Record<string, unknown>): string {
  return text.replace(VARIABLE, (_, name: string) => {
    const value = variables[name];
    return value === undefined || value === null ? '' : String(value);
  });
}
