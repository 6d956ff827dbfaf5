/** Cyclr accounts: read one, or create it (adopting the existing one when Cyclr says its Id is in use). */
import { expectObject, requireText } from './checks.js';
import { isAccountIdInUse } from './errors.js';
import type { Transport } from './transport.js';
import type { CyclrAccount } from './types.js';

export function cyclrAccounts({ request }: Transport) {
  async function getAccount(id: string): Promise<CyclrAccount> {
    requireText(id, 'accountId');
    const { data } = await request<CyclrAccount>({
      method: 'GET',
      route: '/v1.0/accounts/{id}',
      path: `/v1.0/accounts/${encodeURIComponent(id)}`,
    });
    return expectObject(data, 'GET /v1.0/accounts/{id}');
  }

  async function ensureAccount(input: { id: string; name: string; timezone?: string }): Promise<CyclrAccount> {
    requireText(input.id, 'accountId');
    requireText(input.name, 'account.name');
    if (input.timezone !== undefined) requireText(input.timezone, 'account.timezone');
    try {
      const { data } = await request<CyclrAccount>({
        method: 'POST',
        route: '/v1.0/accounts',
        path: '/v1.0/accounts',
        json: { Id: input.id, Name: input.name, ...(input.timezone ? { Timezone: input.timezone } : {}) },
      });
      return expectObject(data, 'POST /v1.0/accounts');
    } catch (err) {
      if (isAccountIdInUse(err)) return getAccount(input.id);
      throw err;
    }
  }

  return { getAccount, ensureAccount };
}
