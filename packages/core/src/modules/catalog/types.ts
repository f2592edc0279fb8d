/**
 * Terminology of the commerce modules.
 *
 * - product: what is sold (name, description, category, status); its price is the lowest of its SKUs'.
 * - SKU: one sellable variant of a product (`TSHIRT-RED-M`), with its own price in the product's currency.
 * - money: `{ amount, currency }`, amount in integer minor units (cents), currency ISO 4217.
 * - version: a counter bumped by every change; writes that send a stale one get 409.
 */
import type { z } from 'zod';
import type { categorySchema, productSchema, productSorts, productStatuses, skuSchema } from '../../contract/catalog.js';

export type Category = z.infer<typeof categorySchema>;
export type Product = z.infer<typeof productSchema>;
export type Sku = z.infer<typeof skuSchema>;
export type ProductStatus = (typeof productStatuses)[number];
export type ProductSort = (typeof productSorts)[number];

export interface PriceInput {
  amount: number;
  currency: string;
}

export interface SkuInput {
  sku: string;
  name?: string | undefined;
  attributes?: Record<string, string> | undefined;
  price: PriceInput;
}

export interface ProductInput {
  name: string;
  description?: string | undefined;
  categoryId?: string | undefined;
  status?: ProductStatus | undefined;
  skus: readonly SkuInput[];
}

export interface ProductChanges {
  name?: string | undefined;
  description?: string | null | undefined;
  categoryId?: string | null | undefined;
  status?: ProductStatus | undefined;
  /** SKUs to add, or to change when they exist. */
  skus?: readonly SkuInput[] | undefined;
}

export interface ProductQuery {
  limit?: number | undefined;
  cursor?: string | undefined;
  q?: string | undefined;
  categoryId?: string | undefined;
  status?: ProductStatus | undefined;
  minPrice?: number | undefined;
  maxPrice?: number | undefined;
  currency?: string | undefined;
  sort?: ProductSort | undefined;
}

/** A SKU as an order prices it. */
export interface SellableSku {
  sku: string;
  productId: string;
  /** `Product name` or `Product name (variant)`. */
  name: string;
  unitPrice: number;
  currency: string;
  /** False when the product is archived. */
  active: boolean;
}

export interface ProductRow {
  id: string;
  name: string;
  description: string | null;
  category_id: string | null;
  status: ProductStatus;
  currency: string;
  price_amount: number;
  version: number;
  created_at: string;
  updated_at: string;
}

export interface SkuRow {
  sku: string;
  product_id: string;
  name: string | null;
  attributes: unknown;
  price_amount: number;
  currency: string;
  position: number;
}
