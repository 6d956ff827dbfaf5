/**
 * How provisionConnector calls out. On the way to its first wait (resolve, install, the first link) Cyclr calls run
 * as local activities, inside the workflow task: no round trip through the server and one history event each. A
 * quick call that keeps failing for a retryable reason (a Cyclr outage) is handed to the same activity as a regular
 * one, which retries for up to a day. Once it waits for consent, messages arrive while calls are out (a click, a
 * re-sent link), so every call there is a regular activity: its result is an event of its own, and a replay meets
 * messages and results in the order they happened.
 * Each proxy is narrowed to what it may call, so a local proxy cannot reach a slow activity by accident.
 */
import {
  CancellationScope,
  TemporalFailure,
  isCancellation,
  proxyActivities,
  proxyLocalActivities,
} from '@temporalio/workflow';
import type { WebhookActivities } from '../activities/webhooks.js';
import type { ProvisioningActivities } from '../activities/provisioning.js';
import { Failure, NON_RETRYABLE, failureOf, type FailureType } from '../contract/failures.js';

/** Failure types that retrying cannot fix (contract/failures.ts); everything else (5xx, 429, network) is retried. */
const nonRetryableErrorTypes = [...NON_RETRYABLE];

/**
 * The failures after which v2 does not hand a quick call over to the durable one, as v2 shipped them. The choice
 * decides whether the durable activity is scheduled at all, so a v2 run must replay with this very list (a type
 * added to it would change what a recorded v2 run does); the next version decides by NON_RETRYABLE instead.
 */
const FINAL_ON_THE_WAY_IN_V2: readonly FailureType[] = [
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

/**
 * Seconds, not minutes: a workflow task running a local activity answers no query and takes no message until it
 * ends, so a slow Cyclr moves the call to a regular activity (the stage visible, messages answered) instead.
 */
export const quick = proxyLocalActivities<Cyclr & Pick<ProvisioningActivities, 'createConsentLink'>>({
  startToCloseTimeout: '3s',
  scheduleToCloseTimeout: '5s',
  retry: {
    initialInterval: '200ms',
    backoffCoefficient: 2,
    maximumInterval: '1s',
    maximumAttempts: 3,
    nonRetryableErrorTypes,
  },
});

export const durable = proxyActivities<
  Cyclr &
    Pick<
      ProvisioningActivities,
      'findAccountConnector' | 'removeAccountConnector' | 'uninstallAccountConnector' | 'deauthenticateAccountConnector'
    >
>({
  startToCloseTimeout: '30s',
  scheduleToCloseTimeout: '1d',
  // 429s carry their own delay (Retry-After); other faults are retried briskly, within the client-side limits.
  retry: {
    initialInterval: '1s',
    backoffCoefficient: 2,
    maximumInterval: '15s',
    nonRetryableErrorTypes,
  },
});

/** Checks while waiting: one that fails is not waited on (the next check comes soon); links for re-sends. */
export const waiting = proxyActivities<Pick<ProvisioningActivities, 'checkAuthenticated' | 'createConsentLink'>>({
  startToCloseTimeout: '10s',
  retry: { initialInterval: '1s', maximumAttempts: 2, nonRetryableErrorTypes },
});

/** A person is waiting on the other end of issueAuthUrl: answer within seconds or fail, never retry for a day. */
export const interactive = proxyActivities<Pick<ProvisioningActivities, 'mintAuthUrl'>>({
  startToCloseTimeout: '10s',
  scheduleToCloseTimeout: '20s',
  retry: {
    initialInterval: '500ms',
    backoffCoefficient: 2,
    maximumInterval: '5s',
    nonRetryableErrorTypes,
  },
});

export const events = proxyActivities<WebhookActivities>({
  startToCloseTimeout: '15s',
  scheduleToCloseTimeout: '1h',
  retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '5m' },
});

/**
 * True for a failure that a later attempt may get past: anything but a failure type v2 treats as final, or a
 * cancellation of our own scope. Decided by the type alone: a local activity that ran out of time is an
 * ActivityFailure around a timeout when it happens, but the bare timeout when its marker is replayed.
 */
export function isRetryableFailure(err: unknown): boolean {
  if (!(err instanceof TemporalFailure)) return false;
  if (isCancellation(err) && CancellationScope.current().consideredCancelled) return false;
  return !(FINAL_ON_THE_WAY_IN_V2 as readonly string[]).includes(failureOf(err).type);
}

/** The quick call first; on a retryable failure, `goingSlow()` then the durable call. */
export async function quickThenDurable<T>(
  fast: () => Promise<T>,
  slow: () => Promise<T>,
  goingSlow: () => void,
): Promise<T> {
  try {
    return await fast();
  } catch (err) {
    if (!isRetryableFailure(err)) throw err;
    goingSlow();
    return slow();
  }
}
