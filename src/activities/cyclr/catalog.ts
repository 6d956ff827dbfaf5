/** Look-ups in Cyclr's connector catalog: one connector by id, or by Name (and Version) across every page. */
import { expectObjectWithId, requirePositiveInt, requireText } from './checks.js';
import { Failure, failure } from '../../contract/failures.js';
import { invalidRequest, isNotFound } from './errors.js';
import type { Transport } from './transport.js';
import type { CyclrConnector } from './types.js';

/** How a caller names a connector: by id, or by Name with an optional Version (checked here, not by a schema). */
export interface ConnectorLookup {
  id?: number;
  name?: string;
  version?: string;
}

export const connectorPath = (id: number) => `/v1.0/connectors/${id}`;

export function connectorCatalog({ request, pages }: Transport) {
  async function getConnector(id: number): Promise<CyclrConnector> {
    requirePositiveInt(id, 'connector.id');
    try {
      const { data } = await request<CyclrConnector>({
        method: 'GET',
        route: '/v1.0/connectors/{id}',
        path: connectorPath(id),
      });
      return expectObjectWithId(data, 'GET /v1.0/connectors/{id}');
    } catch (err) {
      if (isNotFound(err)) {
        throw failure(
          Failure.ConnectorNotFound,
          `No Cyclr connector with id ${id}; check connector.id against GET /v1.0/connectors`,
        );
      }
      throw err;
    }
  }

  async function listMatchingConnectors(name: string): Promise<CyclrConnector[]> {
    const wanted = name.trim().toLowerCase();
    const found: CyclrConnector[] = [];
    for await (const page of pages<CyclrConnector>({
      method: 'GET',
      route: '/v1.0/connectors',
      path: '/v1.0/connectors',
    })) {
      for (const c of page) if (typeof c?.Name === 'string' && c.Name.trim().toLowerCase() === wanted) found.push(c);
    }
    return found;
  }

  const sameVersion = (c: CyclrConnector, version: string) =>
    String(c.Version ?? '')
      .trim()
      .toLowerCase() === version.trim().toLowerCase();

  async function findConnectors(name: string, version?: string): Promise<CyclrConnector[]> {
    requireText(name, 'connector.name');
    const byName = await listMatchingConnectors(name);
    return version === undefined ? byName : byName.filter((c) => sameVersion(c, version));
  }

  async function resolveConnector(ref: ConnectorLookup): Promise<CyclrConnector> {
    if (ref.id !== undefined) return getConnector(ref.id);
    if (ref.name === undefined || !ref.name.trim()) {
      throw invalidRequest('connector needs an "id" (number) or a "name" (string, with an optional "version")');
    }
    if (ref.version !== undefined) requireText(ref.version, 'connector.version');
    const byName = await findConnectors(ref.name);
    const matches = ref.version === undefined ? byName : byName.filter((c) => sameVersion(c, ref.version as string));
    const searched = `named "${ref.name}"${ref.version !== undefined ? ` with version "${ref.version}"` : ''}`;
    if (matches.length === 0) {
      const others = byName.length ? `; versions available: ${byName.map(describeConnector).join(', ')}` : '';
      throw failure(Failure.ConnectorNotFound, `No Cyclr connector ${searched}${others}`);
    }
    if (matches.length > 1) {
      throw failure(
        Failure.AmbiguousConnector,
        `${matches.length} Cyclr connectors are ${searched}: ${matches.map(describeConnector).join(', ')}; pass connector.version or connector.id to choose one`,
      );
    }
    return matches[0];
  }

  return { getConnector, findConnectors, resolveConnector };
}

function describeConnector(c: CyclrConnector): string {
  return `${c.Name} ${c.Version} (id ${c.Id})`;
}
