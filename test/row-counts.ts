import { DataSource } from 'typeorm';

/** The tables a request can write to: a refused request must leave every count as it was. */
export const WRITTEN_TABLES = ['mgmt.task', 'mgmt.embed_chunk', 'mgmt.embed_task_chunk', 'mgmt.embedding'] as const;

export type RowCounts = Record<(typeof WRITTEN_TABLES)[number], number>;

/** Row counts of WRITTEN_TABLES, in one statement (one snapshot). */
export async function rowCounts(sql: DataSource): Promise<RowCounts> {
  const select = WRITTEN_TABLES.map((table) => `(SELECT count(*)::int FROM ${table}) AS "${table}"`).join(', ');
  const [row] = await sql.query(`SELECT ${select}`);
  return row;
}
