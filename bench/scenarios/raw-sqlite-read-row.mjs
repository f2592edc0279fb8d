/**
 * Floor for plinth-read-row: the same row read with a prepared better-sqlite3
 * statement behind plain node:http, answering the same JSON. What is left
 * between the two is Plinth (routing, validation, Kysely, headers, metrics).
 */
import http from 'node:http';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { closeServer, listenLocal } from '../lib/listen.mjs';
import { benchRow, CREATE_TABLE_SQL, rowBatches, TABLE, toItem } from '../lib/rows.mjs';

export const summary = 'node:http + better-sqlite3 prepared statement, same rows';

const PREFIX = '/v1/bench-items/';
const JSON_HEADERS = { 'content-type': 'application/json; charset=utf-8' };

export async function start({ tmpDir, config }) {
  const db = new Database(join(tmpDir, 'raw.db'));
  // The same pragmas Plinth's SQLite storage sets.
  db.pragma('journal_mode = WAL');
  db.pragma('foreign_keys = ON');
  db.pragma('synchronous = FULL');
  db.exec(CREATE_TABLE_SQL);
  const insert = db.prepare(`insert into ${TABLE} (id, sku, name, price_cents, created_at) values (@id, @sku, @name, @price_cents, @created_at)`);
  db.transaction(() => {
    for (const batch of rowBatches(config.rows)) for (const row of batch) insert.run(row);
  })();
  const select = db.prepare(`select id, sku, name, price_cents, created_at from ${TABLE} where id = ?`);

  const server = http.createServer((req, res) => {
    const id = req.url.startsWith(PREFIX) ? Number(req.url.slice(PREFIX.length)) : Number.NaN;
    const row = Number.isInteger(id) ? select.get(id) : undefined;
    const body = row ? JSON.stringify(toItem(row)) : '{"code":"resource.not_found"}';
    res.writeHead(row ? 200 : 404, { ...JSON_HEADERS, 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
  const url = await listenLocal(server);
  const fixed = Math.ceil(config.rows / 2);
  return {
    url,
    target: config.ids === 'random' ? { pathPrefix: PREFIX, maxId: config.rows } : { path: `${PREFIX}${fixed}` },
    sample: { path: `${PREFIX}${fixed}`, body: toItem(benchRow(fixed)) },
    close: async () => {
      await closeServer(server);
      db.close();
    },
  };
}
