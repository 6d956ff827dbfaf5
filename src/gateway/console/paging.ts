/** One page of a visibility query for the console's lists; the page tokens in links are signed for their query. */
import type { Client } from '@temporalio/client';
import { listPage, type ListedPage } from '../../operations/filters.js';
import { signPage, verifyPage } from './session.js';

/** Rows per page unless the list asks for another size. */
export const PAGE_SIZE = 50;

/** A page token the server no longer accepts (they are tied to the query that made them). */
export class StalePage extends Error {}

export async function pagedList(
  temporal: Client,
  key: Buffer,
  query: string,
  pageSize: number,
  page: string | undefined,
  /** What the token is signed with: the filter as given (the query itself moves with "older than"). */
  signedFor: string,
): Promise<ListedPage> {
  const token = page === undefined ? undefined : verifyPage(key, signedFor, page);
  if (page !== undefined && token === undefined) throw new StalePage();
  const listed = await listPage(temporal, query, pageSize, token).catch((err: unknown) => {
    if (page) throw new StalePage();
    throw err;
  });
  return {
    rows: listed.rows,
    ...(listed.nextPage ? { nextPage: signPage(key, signedFor, listed.nextPage) } : {}),
  };
}
