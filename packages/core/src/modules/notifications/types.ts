import type { DeliveryStatus, NotificationChannel } from '../../contract/notifications.js';

export interface DeliveryRow {
  id: string;
  user_id: string | null;
  channel: NotificationChannel;
  template_key: string;
  template_version: number;
  category: string;
  recipient: string;
  title: string | null;
  body: string | null;
  variables: string | null;
  status: DeliveryStatus;
  provider: string | null;
  provider_message_id: string | null;
  error: string | null;
  attempts: number;
  dedupe_key: string | null;
  read_at: string | null;
  created_at: string;
  updated_at: string;
  sent_at: string | null;
}

/** One message's delivery, as staff see it. */
export interface Delivery {
  id: string;
  userId: string | null;
  channel: NotificationChannel;
  template: string;
  templateVersion: number;
  category: string;
  recipient: string;
  status: DeliveryStatus;
  provider: string | null;
  providerMessageId: string | null;
  error: string | null;
  attempts: number;
  createdAt: string;
  updatedAt: string;
  sentAt: string | null;
}

/** An in-app notification, as its recipient sees it. */
export interface InAppNotification {
  id: string;
  template: string;
  category: string;
  title: string;
  body: string;
  read: boolean;
  readAt: string | null;
  createdAt: string;
}

export interface Template {
  key: string;
  channel: NotificationChannel;
  version: number;
  category: string;
  transactional: boolean;
  subject: string | null;
  body: string;
  variables: string[];
  updatedBy: string | null;
  createdAt: string | null;
}

export interface Preference {
  category: string;
  channel: NotificationChannel;
  enabled: boolean;
  transactional: boolean;
}

export interface NotifyInput {
  /** Template key, e.g. `order.receipt`. */
  template: string;
  /** The user it is for: their address, their in-app inbox, their preferences. */
  userId?: string | null | undefined;
  /** Send email here instead of the user's address. */
  email?: string | undefined;
  /** SMS number (E.164); SMS goes out only with one. */
  phone?: string | undefined;
  /** Channels to use; default every channel the template has (SMS only with `phone`). */
  channels?: readonly NotificationChannel[] | undefined;
  variables?: Record<string, unknown> | undefined;
  /** Makes a repeated call (a replayed event) a no-op, per channel. */
  dedupeKey?: string | undefined;
}

export const DELIVERY_TABLE = 'notification_deliveries';
export const TEMPLATE_TABLE = 'notification_templates';
export const PREFERENCE_TABLE = 'notification_preferences';
