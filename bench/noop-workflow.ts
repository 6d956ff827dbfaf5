/** The floor for `npm run bench`: a workflow that does nothing, so its cost is Temporal's own per start. */
export async function noop(): Promise<void> {}
