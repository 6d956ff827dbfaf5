/**
 * The activities of `provisionConnector`: every call that leaves the workflow. Built by a factory that takes its
 * dependencies, so the worker and the tests hand in their own Cyclr client, keys and base URL.
 */
import type { Key } from '../config.js';
import { signToken } from '../signing/signed-token.js';
import type { AuthUrl } from '../contract/messages.js';
import type { ResolvedConnector } from '../contract/connector.js';
import type { ConnectorRef } from '../contract/request.js';
import type { CyclrClient } from './cyclr/cyclr-client.js';
import type { Lane } from '../contract/request-rate.js';
import { oauthCallbackUrl } from '../signing/oauth-callback.js';
import type { InstallBody } from './cyclr/types.js';
import { isNotFound } from './cyclr/errors.js';
import { Failure, failure } from '../contract/failures.js';

export interface ProvisioningActivityDeps {
  cyclr: CyclrClient;
  /** Where browsers reach the gateway (consent links and the OAuth callback). */
  publicBaseUrl: string;
  linkSigningKeys: readonly Key[];
}

export interface InstallActivityInput {
  accountId: string;
  connectorId: number;
  body: InstallBody;
}

export interface InstalledConnector {
  accountConnectorId: number;
  authenticated: boolean;
}

export interface AccountConnectorRef {
  accountId: string;
  accountConnectorId: number;
}

/**
 * A consent check and who waits on it: `idle` (a scheduled check nobody acted on) gives way on a busy request budget
 * and fails as CyclrBudgetBusy, unsent; `person` (just after a click or a consent hint) goes ahead of the work.
 */
export type ConsentCheckInput = AccountConnectorRef & { lane?: Lane };

/** A connector release does not change; a short cache spares the catalog a look-up per provisioning. */
const CONNECTOR_CACHE_MS = 5 * 60 * 1000;

export function createProvisioningActivities({ cyclr, publicBaseUrl, linkSigningKeys }: ProvisioningActivityDeps) {
  const resolved = new Map<string, { at: number; connector: Promise<ResolvedConnector> }>();

  async function resolveConnector(ref: ConnectorRef): Promise<ResolvedConnector> {
    const key = JSON.stringify([ref.id, ref.name?.toLowerCase(), ref.version?.toLowerCase()]);
    const hit = resolved.get(key);
    if (hit && Date.now() - hit.at < CONNECTOR_CACHE_MS) return hit.connector;
    const connector = fetchConnector(ref);
    resolved.set(key, { at: Date.now(), connector });
    // A failed look-up (unknown name, Cyclr down) is not remembered.
    connector.catch(() => resolved.delete(key));
    return connector;
  }

  async function fetchConnector(ref: ConnectorRef): Promise<ResolvedConnector> {
    const c = await cyclr.resolveConnector(ref);
    return {
      id: c.Id,
      name: c.Name,
      version: c.Version,
      authType: c.AuthType,
      oauth2Type: c.OAuth2Type,
      authentications: (c.Authentication ?? []).map((a) => ({
        id: a.Id,
        name: a.AuthName,
        authType: a.AuthType,
        oauth2Type: a.OAuth2Type,
      })),
      requiredProperties: (c.Parameters ?? [])
        .filter((p) => p.IsAccountConnectorProperty && !p.IsOptional)
        .map((p) => p.TargetName),
    };
  }

  return {
    resolveConnector,

    async ensureAccount(input: { id: string; name: string; timezone?: string }): Promise<void> {
      await cyclr.ensureAccount(input);
    },

    /** Idempotent by Name; a missing account surfaces here as AccountNotFound, without a call of its own. */
    async installConnector({ accountId, connectorId, body }: InstallActivityInput): Promise<InstalledConnector> {
      const ac = await cyclr.installConnector(accountId, connectorId, body);
      return { accountConnectorId: ac.Id, authenticated: ac.Authenticated };
    },

    async findAccountConnector({ accountId, name }: { accountId: string; name: string }): Promise<number | undefined> {
      return (await cyclr.findAccountConnectorByName(accountId, name))?.Id;
    },

    async checkAuthenticated({ accountId, accountConnectorId, lane }: ConsentCheckInput): Promise<boolean> {
      const ac = await cyclr.getAccountConnector(accountId, accountConnectorId, lane);
      return ac.Authenticated;
    },

    async removeAccountConnector({ accountId, accountConnectorId }: AccountConnectorRef): Promise<void> {
      await cyclr.deleteAccountConnector(accountId, accountConnectorId);
    },

    /**
     * Offboarding: uninstalls, then confirms Cyclr no longer has it. A retry after a lost answer finds it gone (404),
     * so a removal retried is still one removal; one Cyclr still lists is uninstalled again on the retry.
     */
    async uninstallAccountConnector({ accountId, accountConnectorId }: AccountConnectorRef): Promise<{
      alreadyGone: boolean;
    }> {
      const { alreadyGone } = await cyclr.deleteAccountConnector(accountId, accountConnectorId);
      try {
        await cyclr.getAccountConnector(accountId, accountConnectorId);
      } catch (err) {
        if (isNotFound(err)) return { alreadyGone };
        throw err;
      }
      throw failure(
        Failure.RemovalNotConfirmed,
        `Cyclr still has account connector ${accountConnectorId} in account ${accountId} after the uninstall`,
      );
    },

    /** Drops the credentials at Cyclr, so the customer's next consent is a clean one (reconnect --force). */
    async deauthenticateAccountConnector({ accountId, accountConnectorId }: AccountConnectorRef): Promise<void> {
      await cyclr.deauthenticateAccountConnector(accountId, accountConnectorId);
    },

    /**
     * Mints a single-use sign-in token and returns Cyclr's connectorauth URL at once: the token lives 5 minutes, so
     * it is made only when a browser is about to use it.
     */
    async mintAuthUrl(input: {
      workflowId: string;
      accountId: string;
      accountConnectorId: number;
      username: string;
      callbackMessage?: string;
      /** The request's oauth.targetOrigin: the embedding app that receives callbackMessage. */
      targetOrigin?: string;
      /** The request's oauth.returnUrl: its origin is the default targetOrigin with callbackMessage. */
      returnUrl?: string;
      /** The consent link clicked: the callback state names it, and dies with it. */
      linkId?: string;
    }): Promise<AuthUrl> {
      const { token, expiresAt } = await cyclr.createSignInToken(input.accountId, input.username);
      const url = cyclr.connectorAuthUrl({
        accountConnectorId: input.accountConnectorId,
        token,
        // With callbackMessage Cyclr postMessages to the window that opened it, restricted to targetOrigin: that
        // must be the app's origin, or the browser drops the message. Runs started before targetOrigin and
        // returnUrl were passed in send neither, and keep the gateway's origin they were started with.
        targetOrigin: input.callbackMessage
          ? (input.targetOrigin ?? (input.returnUrl ? new URL(input.returnUrl).origin : new URL(publicBaseUrl).origin))
          : oauthCallbackUrl(publicBaseUrl, input.workflowId, input.linkId, linkSigningKeys),
        callbackMessage: input.callbackMessage,
      });
      return { url, expiresAt };
    },

    /** Our own long-lived consent link: signed, names the workflow and the link id, and expires with the consent. */
    async createConsentLink(input: { workflowId: string; linkId: string; expiresAt: string }): Promise<string> {
      const token = signToken(
        'connect',
        { wf: input.workflowId, lid: input.linkId, exp: Date.parse(input.expiresAt) },
        linkSigningKeys,
      );
      return `${publicBaseUrl}/connect/${token}`;
    },
  };
}

export type ProvisioningActivities = ReturnType<typeof createProvisioningActivities>;
