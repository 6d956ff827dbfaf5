/**
 * FROZEN with v1 (runs begun before `local-activities-2026-12` / `bulk-rows-2026-12`): how v1 calls out, copied from
 * the live provisioning-activities.ts and batch-run.ts as they were. Frozen so that an edit to the live proxies
 * (timeouts, retry policies, which failures stop a retry) cannot change what a v1 run replays or does next. Do not
 * edit; delete with the rest of legacy/ (docs/workflow-versions.md).
 */
import { proxyActivities, proxyLocalActivities } from '@temporalio/workflow';
import type { BatchActivities } from '../../activities/batch.js';
import type { ProvisioningActivities } from '../../activities/provisioning.js';
import type { WebhookActivities } from '../../activities/webhooks.js';
import { Failure } from '../../contract/failures.js';

/** Failure types that retrying cannot fix, as v1 listed them. */
const NON_RETRYABLE = [
  Failure.ConnectorNotFound,
  Failure.AmbiguousConnector,
  Failure.InvalidRequest,
  Failure.AccountNotFound,
  Failure.InstallNameTaken,
  Failure.CyclrBadRequest,
  Failure.CyclrNotFound,
  Failure.CyclrUnauthorized,
  Failure.CyclrForbidden,
];

type Cyclr = Pick<
  ProvisioningActivities,
  'resolveConnector' | 'ensureAccount' | 'installConnector' | 'checkAuthenticated'
>;

/** Every Cyclr call of v1 (a regular activity, retried for up to a day). */
export const cyclr = proxyActivities<
  Cyclr & Pick<ProvisioningActivities, 'findAccountConnector' | 'removeAccountConnector'>
>({
  startToCloseTimeout: '30s',
  scheduleToCloseTimeout: '1d',
  retry: {
    initialInterval: '1s',
    backoffCoefficient: 2,
    maximumInterval: '15s',
    nonRetryableErrorTypes: NON_RETRYABLE,
  },
});

/** Signing a link is local CPU work: no need for a round trip through the server. */
export const links = proxyLocalActivities<ProvisioningActivities>({ startToCloseTimeout: '5s' });

export const interactive = proxyActivities<Pick<ProvisioningActivities, 'mintAuthUrl'>>({
  startToCloseTimeout: '10s',
  scheduleToCloseTimeout: '20s',
  retry: {
    initialInterval: '500ms',
    backoffCoefficient: 2,
    maximumInterval: '5s',
    nonRetryableErrorTypes: NON_RETRYABLE,
  },
});

export const events = proxyActivities<WebhookActivities>({
  startToCloseTimeout: '15s',
  scheduleToCloseTimeout: '1h',
  retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '5m' },
});

export const store = proxyActivities<BatchActivities>({
  startToCloseTimeout: '1m',
  retry: {
    initialInterval: '1s',
    backoffCoefficient: 2,
    maximumInterval: '30s',
    nonRetryableErrorTypes: [Failure.BatchNotFound],
  },
});
