/**
 * When to stop paging Cyclr's lists. Cyclr documents no paging headers, so a short or empty page ends the list; a
 * `Total-Pages` header, when a server sends one, also ends it (saving the empty page after a full last one).
 */

/** Cyclr's default and maximum page sizes are unknown; a server that clamps below our size would end the list early. */
export const MAX_PAGE_SIZE = 100;

export function isLastPage(input: {
  page: number;
  itemCount: number;
  pageSize: number;
  totalPagesHeader?: string | string[];
}): boolean {
  if (input.itemCount < input.pageSize) return true;
  const raw = Array.isArray(input.totalPagesHeader) ? input.totalPagesHeader[0] : input.totalPagesHeader;
  if (raw === undefined || !/^\s*\d+\s*$/.test(raw)) return false;
  return input.page >= Number(raw);
}
