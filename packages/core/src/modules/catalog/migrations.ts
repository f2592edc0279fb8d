import type { Migration } from '../../migrations/migration.js';
import type { FullTextIndex } from '../../storage/full-text.js';

/** What product search looks at: the name weighs more than the description. */
export const productSearchIndex: FullTextIndex = {
  table: 'products',
  key: 'id',
  columns: [
    { name: 'name', weight: 'A' },
    { name: 'description', weight: 'B' },
  ],
};

export const catalogMigrations: Migration[] = [
  {
    name: '0001-create-catalog',
    async up(db, { types }) {
      await db.schema
        .createTable('categories')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('slug', 'text', (c) => c.notNull().unique())
        .addColumn('parent_id', 'text', (c) => c.references('categories.id'))
        // `/<root id>/.../<own id>/`: a subtree is one `like` prefix.
        .addColumn('path', 'text', (c) => c.notNull())
        .addColumn('created_at', types.timestamp, (c) => c.notNull())
        .execute();
      await db.schema.createIndex('categories_parent_idx').on('categories').columns(['parent_id', 'name']).execute();
      await db.schema.createIndex('categories_path_idx').on('categories').column('path').execute();

      await db.schema
        .createTable('products')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('description', 'text')
        .addColumn('category_id', 'text', (c) => c.references('categories.id'))
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('currency', 'text', (c) => c.notNull())
        // The lowest SKU price: the "from" price, filtered and sorted on.
        .addColumn('price_amount', 'bigint', (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('created_at', types.timestamp, (c) => c.notNull())
        .addColumn('updated_at', types.timestamp, (c) => c.notNull())
        .execute();
      await db.schema.createIndex('products_status_idx').on('products').columns(['status', 'id']).execute();
      await db.schema.createIndex('products_price_idx').on('products').columns(['status', 'price_amount', 'id']).execute();
      await db.schema.createIndex('products_name_idx').on('products').columns(['status', 'name', 'id']).execute();
      await db.schema.createIndex('products_category_idx').on('products').columns(['category_id', 'id']).execute();

      await db.schema
        .createTable('product_skus')
        .addColumn('sku', 'text', (c) => c.primaryKey())
        .addColumn('product_id', 'text', (c) => c.notNull().references('products.id'))
        .addColumn('name', 'text')
        .addColumn('attributes', types.json, (c) => c.notNull())
        .addColumn('price_amount', 'bigint', (c) => c.notNull())
        .addColumn('currency', 'text', (c) => c.notNull())
        .addColumn('position', 'integer', (c) => c.notNull())
        .addColumn('created_at', types.timestamp, (c) => c.notNull())
        .addColumn('updated_at', types.timestamp, (c) => c.notNull())
        .execute();
      await db.schema.createIndex('product_skus_product_idx').on('product_skus').columns(['product_id', 'position']).execute();
    },
    async down(db) {
      await db.schema.dropTable('product_skus').execute();
      await db.schema.dropTable('products').execute();
      await db.schema.dropTable('categories').execute();
    },
  },
  {
    name: '0002-product-search',
    async up(db, { fullText }) {
      await fullText.createIndex(db, productSearchIndex);
    },
    async down(db, { fullText }) {
      await fullText.dropIndex(db, productSearchIndex);
    },
  },
];
