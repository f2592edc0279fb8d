import { type NotificationChannel, notificationChannels } from '../../contract/notifications.js';
import type { KernelContext } from '../../module.js';
import type { AuditService } from '../audit/index.js';
import type { Caller } from '../identity/types.js';
import { createDelivery, SEND_JOB, variablesContext } from './delivery.js';
import { notificationsError } from './errors.js';
import type { SmsProvider } from './sms.js';
import { type CategoryDefinition, render, type TemplateDefinition, type TemplateText, variablesOf } from './templates.js';
import { PlinthError } from '../../errors.js';
import {
  DELIVERY_TABLE, type Delivery, type DeliveryRow, type InAppNotification, type NotifyInput, PREFERENCE_TABLE, type Preference, TEMPLATE_TABLE, type Template,
} from './types.js';

export interface Page<T> {
  data: T[];
  nextCursor: string | null;
}

/** The notifications module's services (`kernel.service<NotificationsService>('notifications')`). */
export interface NotificationsService {
  /**
   * Queues a template's messages for a user or an address (joins the current transaction:
   * they go out only if it commits). Channels the user opted out of are left out, unless the
   * category is transactional. Answers the deliveries made (none for a repeated `dedupeKey`).
   */
  notify(input: NotifyInput): Promise<Delivery[]>;
  /**
   * A transactional email right now (verification, reset): recorded and queued (a job retries
   * it), then tried at once; waits at most `notifications.inlineWaitMs` for that try.
   */
  sendEmailNow(input: { template: string; to: string; userId?: string | null; variables: Record<string, unknown> }): Promise<Delivery>;
  /** Notifies every active admin (in-app and email). */
  notifyAdmins(template: string, variables: Record<string, unknown>, dedupeKey: string): Promise<void>;
  /** Tries to send one queued delivery (the send job). */
  attempt(id: string, options: { scheduleRetry: boolean; signal?: AbortSignal }): ReturnType<ReturnType<typeof createDelivery>['attempt']>;
  listMine(caller: Caller, query: { limit?: number; cursor?: string | undefined; unread?: boolean | undefined }): Promise<Page<InAppNotification>>;
  markRead(id: string, caller: Caller): Promise<InAppNotification>;
  preferences(caller: Caller): Promise<Preference[]>;
  updatePreferences(caller: Caller, changes: readonly { category: string; channel: NotificationChannel; enabled: boolean }[]): Promise<Preference[]>;
  listTemplates(caller: Caller): Promise<Template[]>;
  templateVersions(key: string, channel: NotificationChannel, caller: Caller): Promise<Template[]>;
  updateTemplate(key: string, channel: NotificationChannel, input: { subject?: string | undefined; body: string; baseVersion?: number | undefined }, caller: Caller): Promise<Template>;
  listDeliveries(query: { limit?: number; cursor?: string | undefined; status?: string | undefined; channel?: string | undefined; userId?: string | undefined }, caller: Caller): Promise<Page<Delivery>>;
  /** What a provider reported later (delivered, bounced, failed), by delivery id. */
  recordOutcome(id: string, input: { status: 'delivered' | 'bounced' | 'failed'; reason?: string | undefined }, caller: Caller): Promise<Delivery>;
  /** Waits for the inline sends still running (tests, shutdown). */
  settled(): Promise<void>;
  readonly templates: Readonly<Record<string, TemplateDefinition>>;
  readonly categories: Readonly<Record<string, CategoryDefinition & { defaultEnabled?: boolean }>>;
}

interface TemplateRow {
  key: string;
  channel: NotificationChannel;
  version: number;
  subject: string | null;
  body: string;
  updated_by: string | null;
  created_at: string;
}

export function toDelivery(r: DeliveryRow): Delivery {
  return {
    id: r.id, userId: r.user_id, channel: r.channel, template: r.template_key, templateVersion: Number(r.template_version), category: r.category,
    recipient: r.recipient, status: r.status, provider: r.provider, providerMessageId: r.provider_message_id, error: r.error,
    attempts: Number(r.attempts), createdAt: r.created_at, updatedAt: r.updated_at, sentAt: r.sent_at,
  };
}

const toInApp = (r: DeliveryRow): InAppNotification => ({
  id: r.id, template: r.template_key, category: r.category, title: r.title ?? '', body: r.body ?? '', read: r.read_at !== null, readAt: r.read_at, createdAt: r.created_at,
});

const actorId = (caller: Caller) => (caller.actor?.kind === 'user' ? caller.actor.userId : caller.actor?.kind === 'api_key' ? `api_key:${caller.actor.keyId}` : null);

export function createNotificationsService(
  kernel: KernelContext,
  options: { templates: Record<string, TemplateDefinition>; categories: Record<string, CategoryDefinition & { defaultEnabled?: boolean }>; sms: () => SmsProvider },
): NotificationsService {
  const { templates, categories } = options;
  const iso = () => new Date(kernel.clock.now()).toISOString();
  const audit = () => kernel.optionalService<AuditService>('audit');
  const background = new Set<Promise<unknown>>();

  function definition(key: string): TemplateDefinition {
    const def = Object.hasOwn(templates, key) ? templates[key] : undefined;
    if (!def) throw notificationsError('notifications.unknown_template', `No template "${key}"`);
    return def;
  }

  async function latestRow(key: string, channel: NotificationChannel): Promise<TemplateRow | undefined> {
    return (await kernel.db.selectFrom(TEMPLATE_TABLE).selectAll().where('key', '=', key).where('channel', '=', channel).orderBy('version', 'desc').limit(1).executeTakeFirst()) as TemplateRow | undefined;
  }

  function toTemplate(key: string, channel: NotificationChannel, row: TemplateRow | undefined): Template {
    const def = definition(key);
    const builtin = def.channels[channel]!;
    const category = categories[def.category];
    return {
      key, channel, version: row ? Number(row.version) : 0, category: def.category, transactional: category?.transactional ?? false,
      subject: row ? row.subject : (builtin.subject ?? null), body: row ? row.body : builtin.body, variables: [...def.variables],
      updatedBy: row?.updated_by ?? null, createdAt: row?.created_at ?? null,
    };
  }

  async function templateText(key: string, channel: NotificationChannel, version: number): Promise<TemplateText | undefined> {
    if (version === 0) return Object.hasOwn(templates, key) ? templates[key]!.channels[channel] : undefined;
    const row = (await kernel.db.selectFrom(TEMPLATE_TABLE).selectAll().where('key', '=', key).where('channel', '=', channel).where('version', '=', version).executeTakeFirst()) as TemplateRow | undefined;
    return row ? { body: row.body, ...(row.subject !== null ? { subject: row.subject } : {}) } : undefined;
  }

  const delivery = createDelivery({ kernel, sms: options.sms, templateText });

  async function optedIn(userId: string, category: string, channel: NotificationChannel): Promise<boolean> {
    const cat = categories[category];
    if (cat?.transactional) return true;
    const row = await kernel.db.selectFrom(PREFERENCE_TABLE).select('enabled').where('user_id', '=', userId).where('category', '=', category).where('channel', '=', channel).executeTakeFirst();
    return row ? kernel.storage.fromBoolean(row.enabled) : (cat?.defaultEnabled ?? true);
  }

  async function insertDelivery(row: DeliveryRow): Promise<boolean> {
    const q = kernel.db.insertInto(DELIVERY_TABLE).values(row);
    if (!row.dedupe_key) {
      await q.execute();
      return true;
    }
    const inserted = await q.onConflict((oc) => oc.column('dedupe_key').doNothing()).returning('id').execute();
    return inserted.length === 1;
  }

  function newRow(input: { template: string; channel: NotificationChannel; version: number; category: string; recipient: string; userId: string | null; dedupeKey: string | null }): DeliveryRow {
    const now = iso();
    return {
      id: kernel.ids.next(), user_id: input.userId, channel: input.channel, template_key: input.template, template_version: input.version, category: input.category,
      recipient: input.recipient, title: null, body: null, variables: null, status: 'queued', provider: null, provider_message_id: null, error: null, attempts: 0,
      dedupe_key: input.dedupeKey, read_at: null, created_at: now, updated_at: now, sent_at: null,
    };
  }

  const sealVariables = (id: string, variables: Record<string, unknown>) => kernel.secrets.encrypt(JSON.stringify(variables), variablesContext(id));

  async function page<T>(q: any, limit: number | undefined, cursor: string | undefined, map: (r: DeliveryRow) => T): Promise<Page<T>> {
    const n = Math.min(Math.max(Math.trunc(limit ?? 20), 1), 100);
    const rows = (await (cursor ? q.where('id', '<', cursor) : q).orderBy('id', 'desc').limit(n + 1).execute()) as DeliveryRow[];
    const more = rows.length > n;
    const kept = more ? rows.slice(0, n) : rows;
    return { data: kept.map(map), nextCursor: more ? kept[kept.length - 1]!.id : null };
  }

  const service: NotificationsService = {
    templates,
    categories,

    async notify(input) {
      const def = definition(input.template);
      const variables = input.variables ?? {};
      return kernel.transaction(async (tx) => {
        let user: { id: string; email: string; status: string } | undefined;
        if (input.userId) {
          user = (await kernel.db.selectFrom('users').select(['id', 'email', 'status']).where('id', '=', input.userId).executeTakeFirst()) as typeof user;
          if (!user || user.status !== 'active') return [];
        }
        const wanted = input.channels ?? (Object.keys(def.channels) as NotificationChannel[]);
        const made: Delivery[] = [];
        for (const channel of wanted) {
          if (!def.channels[channel]) throw notificationsError('notifications.unknown_template', `Template "${input.template}" has no ${channel} text`);
          const recipient = channel === 'email' ? (input.email ?? user?.email) : channel === 'sms' ? input.phone : user?.id;
          if (!recipient) {
            if (input.channels) throw notificationsError('notifications.no_recipient', `No ${channel} recipient for "${input.template}"`);
            continue; // a default channel without an address (SMS without a phone) is skipped
          }
          if (user && !(await optedIn(user.id, def.category, channel))) continue;
          const latest = await latestRow(input.template, channel);
          const row = newRow({
            template: input.template, channel, version: latest ? Number(latest.version) : 0, category: def.category, recipient,
            userId: user?.id ?? null, dedupeKey: input.dedupeKey ? `${input.dedupeKey}:${channel}:${recipient}` : null,
          });
          if (channel === 'in_app') {
            const text = toTemplate(input.template, channel, latest);
            row.title = render(text.subject ?? '', variables);
            row.body = render(text.body, variables);
            row.status = 'delivered';
            row.sent_at = row.created_at;
            row.provider = 'in_app';
          } else {
            row.variables = sealVariables(row.id, variables);
          }
          if (!(await insertDelivery(row))) continue;
          if (channel === 'in_app') {
            await tx.emit({ type: 'notification.created', aggregate: { type: 'user', id: row.user_id! }, payload: { id: row.id, userId: row.user_id!, template: row.template_key, title: row.title! } });
          } else {
            await kernel.jobs.enqueue(SEND_JOB, { deliveryId: row.id }, { uniqueKey: `notification:${row.id}:0` });
          }
          made.push(toDelivery(row));
        }
        return made;
      });
    },

    async sendEmailNow(input) {
      const def = definition(input.template);
      if (!def.channels.email) throw notificationsError('notifications.unknown_template', `Template "${input.template}" has no email text`);
      const row = await kernel.transaction(async () => {
        const latest = await latestRow(input.template, 'email');
        const row = newRow({ template: input.template, channel: 'email', version: latest ? Number(latest.version) : 0, category: def.category, recipient: input.to, userId: input.userId ?? null, dedupeKey: null });
        row.variables = sealVariables(row.id, input.variables);
        await insertDelivery(row);
        // The fallback: if the try below fails (or this process dies), the queue sends it.
        // It runs after the inline try has surely ended (its timeout), so the two never send at once.
        await kernel.jobs.enqueue(SEND_JOB, { deliveryId: row.id }, {
          uniqueKey: `notification:${row.id}:0`,
          delayMs: Math.max(kernel.config.notifications.retryBaseMs, kernel.config.outbound.timeoutMs + 1000),
        });
        return row;
      });
      const tried = delivery.attempt(row.id, { scheduleRetry: false }).catch((error: unknown) => {
        kernel.logger.warn({ deliveryId: row.id, err: (error as Error)?.message }, 'inline notification send failed; the queue retries it');
      });
      const tracked = tried.finally(() => background.delete(tracked));
      background.add(tracked);
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([tried, new Promise<void>((resolve) => { timer = setTimeout(resolve, kernel.config.notifications.inlineWaitMs); })]);
      clearTimeout(timer);
      const current = (await kernel.db.selectFrom(DELIVERY_TABLE).selectAll().where('id', '=', row.id).executeTakeFirst()) as DeliveryRow | undefined;
      return toDelivery(current ?? row);
    },

    async notifyAdmins(template, variables, dedupeKey) {
      const admins = (await kernel.db
        .selectFrom('user_roles')
        .innerJoin('users', 'users.id', 'user_roles.user_id')
        .select('users.id as id')
        .where('user_roles.role', '=', 'admin')
        .where('users.status', '=', 'active')
        .execute()) as { id: string }[];
      for (const admin of admins) await service.notify({ template, userId: admin.id, variables, dedupeKey: `${dedupeKey}:${admin.id}` });
    },

    attempt: (id, options) => delivery.attempt(id, options),

    async listMine(caller, query) {
      await kernel.authorize(caller.actor, 'notifications:read:own');
      const userId = caller.actor?.kind === 'user' ? caller.actor.userId : null;
      if (!userId) return { data: [], nextCursor: null };
      let q = kernel.db.selectFrom(DELIVERY_TABLE).selectAll().where('user_id', '=', userId).where('channel', '=', 'in_app');
      if (query.unread !== undefined) q = query.unread ? q.where('read_at', 'is', null) : q.where('read_at', 'is not', null);
      return page(q, query.limit, query.cursor, toInApp);
    },

    async markRead(id, caller) {
      await kernel.authorize(caller.actor, 'notifications:read:own');
      const userId = caller.actor?.kind === 'user' ? caller.actor.userId : null;
      const find = async () =>
        (await kernel.db.selectFrom(DELIVERY_TABLE).selectAll().where('id', '=', id).where('channel', '=', 'in_app').where('user_id', '=', userId ?? '').executeTakeFirst()) as DeliveryRow | undefined;
      const row = await find();
      // Someone else's notification is as unknown as a missing one.
      if (!row) throw notificationsError('notifications.not_found', 'No such notification');
      if (row.read_at === null) {
        const now = iso();
        await kernel.db.updateTable(DELIVERY_TABLE).set({ read_at: now, updated_at: now }).where('id', '=', id).where('read_at', 'is', null).execute();
      }
      return toInApp((await find())!);
    },

    async preferences(caller) {
      await kernel.authorize(caller.actor, 'notifications:read:own');
      const userId = caller.actor?.kind === 'user' ? caller.actor.userId : null;
      const rows = userId
        ? ((await kernel.db.selectFrom(PREFERENCE_TABLE).select(['category', 'channel', 'enabled']).where('user_id', '=', userId).execute()) as { category: string; channel: string; enabled: unknown }[])
        : [];
      const stored = new Map(rows.map((r) => [`${r.category}:${r.channel}`, kernel.storage.fromBoolean(r.enabled)]));
      return Object.entries(categories).flatMap(([category, def]) =>
        notificationChannels.map((channel) => ({
          category, channel, transactional: def.transactional,
          enabled: def.transactional ? true : (stored.get(`${category}:${channel}`) ?? def.defaultEnabled ?? true),
        })),
      );
    },

    async updatePreferences(caller, changes) {
      await kernel.authorize(caller.actor, 'notifications:read:own');
      const userId = caller.actor?.kind === 'user' ? caller.actor.userId : null;
      if (!userId) throw notificationsError('notifications.no_recipient', 'Only users have notification preferences');
      for (const change of changes) {
        const def = Object.hasOwn(categories, change.category) ? categories[change.category] : undefined;
        if (!def) throw notificationsError('notifications.unknown_category', `No notification category "${change.category}"`, { details: { category: change.category } });
        if (def.transactional && !change.enabled) {
          throw notificationsError('notifications.not_opt_outable', `"${change.category}" messages are transactional and cannot be turned off`, { details: { category: change.category } });
        }
      }
      await kernel.transaction(async () => {
        const now = iso();
        for (const change of changes) {
          await kernel.db
            .insertInto(PREFERENCE_TABLE)
            .values({ user_id: userId, category: change.category, channel: change.channel, enabled: change.enabled, updated_at: now })
            .onConflict((oc) => oc.columns(['user_id', 'category', 'channel']).doUpdateSet({ enabled: change.enabled, updated_at: now }))
            .execute();
        }
      });
      return service.preferences(caller);
    },

    async listTemplates(caller) {
      await kernel.authorize(caller.actor, 'notifications:templates');
      const out: Template[] = [];
      for (const [key, def] of Object.entries(templates)) {
        for (const channel of Object.keys(def.channels) as NotificationChannel[]) out.push(toTemplate(key, channel, await latestRow(key, channel)));
      }
      return out;
    },

    async templateVersions(key, channel, caller) {
      await kernel.authorize(caller.actor, 'notifications:templates');
      if (!definition(key).channels[channel]) throw notificationsError('notifications.unknown_template', `Template "${key}" has no ${channel} text`);
      const rows = (await kernel.db.selectFrom(TEMPLATE_TABLE).selectAll().where('key', '=', key).where('channel', '=', channel).orderBy('version', 'desc').execute()) as TemplateRow[];
      return [...rows.map((r) => toTemplate(key, channel, r)), toTemplate(key, channel, undefined)];
    },

    async updateTemplate(key, channel, input, caller) {
      await kernel.authorize(caller.actor, 'notifications:templates');
      const def = definition(key);
      if (!def.channels[channel]) throw notificationsError('notifications.unknown_template', `Template "${key}" has no ${channel} text`);
      const unknown = [...variablesOf(input.body), ...variablesOf(input.subject ?? '')].filter((v) => !def.variables.includes(v));
      if (unknown.length) {
        throw notificationsError('notifications.unknown_variable', `Unknown variable${unknown.length > 1 ? 's' : ''} ${unknown.map((v) => `{{${v}}}`).join(', ')}; this template has ${def.variables.join(', ')}`, {
          details: { unknown, allowed: def.variables },
        });
      }
      if (channel !== 'sms' && !input.subject && def.channels[channel]!.subject !== undefined) {
        throw new PlinthError('validation.failed', 'This template needs a subject', { errors: [{ path: 'subject', message: 'Required', code: 'invalid_type' }] });
      }
      return kernel.transaction(async () => {
        const latest = await kernel.storage
          .forUpdate(kernel.db.selectFrom(TEMPLATE_TABLE).selectAll().where('key', '=', key).where('channel', '=', channel).orderBy('version', 'desc').limit(1))
          .executeTakeFirst() as TemplateRow | undefined;
        const current = latest ? Number(latest.version) : 0;
        if (input.baseVersion !== undefined && input.baseVersion !== current) {
          throw notificationsError('notifications.invalid_state', `The template changed meanwhile: it is at version ${current}`, { details: { version: current } });
        }
        const row: TemplateRow = {
          key, channel, version: current + 1, subject: channel === 'sms' ? null : (input.subject ?? null), body: input.body, updated_by: actorId(caller), created_at: iso(),
        };
        try {
          await kernel.db.insertInto(TEMPLATE_TABLE).values(row).execute();
        } catch (error) {
          if ((error as { code?: string }).code === 'storage.conflict') throw notificationsError('notifications.invalid_state', 'Someone saved this template at the same moment; reload it');
          throw error;
        }
        await audit()?.record(caller, { action: 'notifications.template.updated', target: { type: 'notification_template', id: `${key}/${channel}` }, data: { version: row.version } });
        return toTemplate(key, channel, row);
      });
    },

    async listDeliveries(query, caller) {
      await kernel.authorize(caller.actor, 'notifications:deliveries');
      let q = kernel.db.selectFrom(DELIVERY_TABLE).selectAll();
      if (query.status) q = q.where('status', '=', query.status);
      if (query.channel) q = q.where('channel', '=', query.channel);
      if (query.userId) q = q.where('user_id', '=', query.userId);
      return page(q, query.limit, query.cursor, toDelivery);
    },

    async recordOutcome(id, input, caller) {
      await kernel.authorize(caller.actor, 'notifications:deliveries');
      return kernel.transaction(async () => {
        const row = (await kernel.storage.forUpdate(kernel.db.selectFrom(DELIVERY_TABLE).selectAll().where('id', '=', id)).executeTakeFirst()) as DeliveryRow | undefined;
        if (!row) throw notificationsError('notifications.not_found', 'No such delivery');
        if (row.channel === 'in_app' || (row.status !== 'sent' && row.status !== 'delivered')) {
          throw notificationsError('notifications.invalid_state', `A ${row.status} ${row.channel} delivery cannot become ${input.status}`, { details: { status: row.status } });
        }
        const now = iso();
        await kernel.db
          .updateTable(DELIVERY_TABLE)
          .set({ status: input.status, error: input.status === 'delivered' ? null : (input.reason ?? input.status), updated_at: now })
          .where('id', '=', id)
          .execute();
        await audit()?.record(caller, { action: 'notifications.delivery.outcome', target: { type: 'notification_delivery', id }, data: { status: input.status } });
        return toDelivery({ ...row, status: input.status, error: input.status === 'delivered' ? null : (input.reason ?? input.status), updated_at: now });
      });
    },

    async settled() {
      while (background.size) await Promise.allSettled([...background]);
    },
  };
  return service;
}
