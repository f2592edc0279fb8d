import { type Actor, type AuditService, type Caller, type InventoryService, type KernelContext, unauthenticated } from '@plinth/core';
import { MAX_WISHES, type Notice, type Wish } from './contract.js';
import { wishlistError } from './errors.js';

/** The wishlists module's services: `plinth.service<WishlistService>('wishlists')`; callable without HTTP. */
export interface WishlistService {
  list(caller: Caller): Promise<Wish[]>;
  add(input: { sku: string; note?: string | undefined }, caller: Caller): Promise<Wish>;
  remove(id: string, caller: Caller): Promise<void>;
  notices(caller: Caller): Promise<Notice[]>;
  /** Job step: notices for the waiting wishes of a SKU that is available again; answers how many were made. */
  notifyBackInStock(sku: string): Promise<number>;
  /** Job step: mails one notice to its user. */
  mailNotice(noticeId: string): Promise<void>;
}

interface WishRow {
  id: string;
  user_id: string;
  sku: string;
  note: string | null;
  available: number | string;
  notified_at: string | null;
  created_at: string;
}

const toWish = (row: WishRow): Wish => ({
  id: row.id,
  sku: row.sku,
  note: row.note,
  available: Number(row.available),
  notifiedAt: row.notified_at,
  createdAt: row.created_at,
});

/** The user a call is made for: a signed-in user, or the owner of an API key. */
function userIdOf(actor: Actor | null): string {
  if (actor?.kind === 'user' || actor?.kind === 'api_key') return actor.userId;
  throw unauthenticated();
}

export function createWishlistService(kernel: KernelContext): WishlistService {
  const inventory = () => kernel.service<InventoryService>('inventory');
  const audit = () => kernel.service<AuditService>('audit');
  const now = () => new Date(kernel.clock.now()).toISOString();
  const available = async (sku: string) => (await inventory().availableOf([sku])).get(sku) ?? 0;

  return {
    async list(caller) {
      await kernel.authorize(caller.actor, 'wishlists:use');
      const rows = await kernel.db.selectFrom('wishlist_items').selectAll().where('user_id', '=', userIdOf(caller.actor)).orderBy('id', 'desc').execute();
      return (rows as WishRow[]).map(toWish);
    },

    async add(input, caller) {
      await kernel.authorize(caller.actor, 'wishlists:use');
      const userId = userIdOf(caller.actor);
      const known = await kernel.db.selectFrom('product_skus').select('sku').where('sku', '=', input.sku).executeTakeFirst();
      if (!known) throw wishlistError('wishlists.sku_not_found', `No SKU ${input.sku}`);
      const units = await available(input.sku);
      const conflict = () => wishlistError('wishlists.already_wished', `${input.sku} is on the wishlist already`);
      try {
        return await kernel.transaction(async (tx) => {
          const existing = await tx.db.selectFrom('wishlist_items').select('id').where('user_id', '=', userId).where('sku', '=', input.sku).executeTakeFirst();
          if (existing) throw conflict();
          const { count } = (await tx.db.selectFrom('wishlist_items').select((eb) => eb.fn.countAll<number | string>().as('count')).where('user_id', '=', userId).executeTakeFirstOrThrow()) as { count: number | string };
          if (Number(count) >= MAX_WISHES) throw wishlistError('wishlists.full', `A wishlist holds at most ${MAX_WISHES} items`);
          const row: WishRow = { id: kernel.ids.next(), user_id: userId, sku: input.sku, note: input.note ?? null, available: units, notified_at: null, created_at: now() };
          await tx.db.insertInto('wishlist_items').values(row).execute();
          await tx.emit({ type: 'wishlists.wished', aggregate: { type: 'wish', id: row.id }, payload: { wishId: row.id, userId, sku: row.sku, available: units } });
          await audit().record(caller, { action: 'wishlists.wished', target: { type: 'wish', id: row.id }, data: { sku: row.sku } });
          return toWish(row);
        });
      } catch (error) {
        // Two adds at once: the unique key (user_id, sku) stops the second; its transaction rolled back whole.
        if ((error as { code?: string }).code === 'storage.conflict') throw conflict();
        throw error;
      }
    },

    async remove(id, caller) {
      await kernel.authorize(caller.actor, 'wishlists:use');
      const userId = userIdOf(caller.actor);
      await kernel.transaction(async (tx) => {
        // Someone else's wish is "not found" too: ids do not leak across users.
        const deleted = await tx.db.deleteFrom('wishlist_items').where('id', '=', id).where('user_id', '=', userId).executeTakeFirst();
        if (Number(deleted.numDeletedRows) === 0) throw wishlistError('wishlists.item_not_found', `No wish ${id}`);
        await audit().record(caller, { action: 'wishlists.removed', target: { type: 'wish', id } });
      });
    },

    async notices(caller) {
      await kernel.authorize(caller.actor, 'wishlists:use');
      const rows = await kernel.db
        .selectFrom('wishlist_notices')
        .select(['id', 'wish_id', 'sku', 'message', 'created_at'])
        .where('user_id', '=', userIdOf(caller.actor))
        .orderBy('id', 'desc')
        .limit(100)
        .execute();
      return rows.map((r) => ({ id: r.id, wishId: r.wish_id, sku: r.sku, message: r.message, createdAt: r.created_at }));
    },

    async notifyBackInStock(sku) {
      const units = await available(sku);
      if (units <= 0) return 0;
      return kernel.transaction(async (tx) => {
        // Waiting: wished while nothing was available, not notified yet.
        const waiting = (await tx.db.selectFrom('wishlist_items').selectAll().where('sku', '=', sku).where('notified_at', 'is', null).where('available', '<=', 0).execute()) as WishRow[];
        let made = 0;
        for (const wish of waiting) {
          const at = now();
          // Conditional: a second run of this job (at-least-once) finds nothing left to mark.
          const marked = await tx.db.updateTable('wishlist_items').set({ notified_at: at, available: units }).where('id', '=', wish.id).where('notified_at', 'is', null).executeTakeFirst();
          if (Number(marked.numUpdatedRows) === 0) continue;
          const notice = { id: kernel.ids.next(), user_id: wish.user_id, wish_id: wish.id, sku, message: `${sku} is back in stock (${units} available)`, created_at: at };
          await tx.db.insertInto('wishlist_notices').values(notice).onConflict((oc) => oc.column('wish_id').doNothing()).execute();
          await tx.emit({ type: 'wishlists.back_in_stock', aggregate: { type: 'wish', id: wish.id }, payload: { wishId: wish.id, userId: wish.user_id, sku, available: units } });
          // The mail goes out after commit, from its own job (retried on its own if the mail server is down).
          await kernel.jobs.enqueue('wishlists.mail-notice', { noticeId: notice.id }, { uniqueKey: `wishlists.mail-notice:${notice.id}` });
          made++;
        }
        return made;
      });
    },

    async mailNotice(noticeId) {
      const notice = await kernel.db
        .selectFrom('wishlist_notices as n')
        .innerJoin('users as u', 'u.id', 'n.user_id')
        .select(['n.sku', 'n.message', 'u.email'])
        .where('n.id', '=', noticeId)
        .executeTakeFirst();
      if (!notice) return; // the user was deleted meanwhile: nothing to send
      await kernel.mail.send({ to: notice.email, subject: `Back in stock: ${notice.sku}`, text: `${notice.message}.\n\nIt is on your wishlist.`, kind: 'wishlists.back_in_stock' });
    },
  };
}
