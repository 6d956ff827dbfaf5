/**
 * Every failure type the provisioner raises or reports, named once: the `type` of an ApplicationFailure, of a
 * `ProvisioningError` or `BatchError`, of `status.lastError` and of a batch's failure rows (and the gateway's `error`
 * for the same cases). `retryable`: a later attempt of the same call may get past it, so Temporal retries it; the
 * others are in NON_RETRYABLE. Import the names (`Failure.ConsentExpired`), never write them as strings. The README
 * lists them (section "Using it from code"); test/failures.test.ts keeps the two in step.
 */
import { ApplicationFailure, ApplicationFailureCategory, TemporalFailure } from '@temporalio/common';

const FAILURES = {
  // The request: the caller's to fix.
  InvalidRequest: { retryable: false },
  ConnectorNotFound: { retryable: false },
  AmbiguousConnector: { retryable: false },
  AccountNotFound: { retryable: false },
  InstallNameTaken: { retryable: false },
  // Cyclr's answers (activities/cyclr/errors.ts): outages and limits pass, refusals do not.
  CyclrBadRequest: { retryable: false },
  CyclrNotFound: { retryable: false },
  CyclrConflict: { retryable: false },
  CyclrUnprocessable: { retryable: false },
  CyclrRequestRejected: { retryable: false },
  CyclrUnauthorized: { retryable: false },
  CyclrForbidden: { retryable: false },
  CyclrBadResponse: { retryable: false },
  CyclrRateLimited: { retryable: true },
  CyclrUnavailable: { retryable: true },
  CyclrNetworkError: { retryable: true },
  // An idle request (a consent check nobody waits on) gave way on a busy request budget; its caller asks again later.
  CyclrBudgetBusy: { retryable: false },
  InvalidConfiguration: { retryable: false },
  // How a provisioning ends, other than completed.
  NotAuthenticated: { retryable: false },
  ConsentExpired: { retryable: false },
  Cancelled: { retryable: false },
  // Notes in `status.lastError` while it goes on, or after it ended.
  ConsentNotConfirmed: { retryable: true },
  CleanupFailed: { retryable: false },
  // Offboarding: Cyclr still lists the account connector after the uninstall (asked again).
  RemovalNotConfirmed: { retryable: true },
  // Messages a provisioning refuses, and what the client library says about one.
  NotAwaitingConsent: { retryable: false },
  LinkRevoked: { retryable: false },
  // A consent link clicked more than GATEWAY_CONSENT_CLICK_LIMIT allows: counted by the provisioning, for every gateway.
  TooManyClicks: { retryable: true },
  ProvisioningNotFound: { retryable: false },
  ProvisioningFinished: { retryable: false },
  // Reconnect of a provisioning that is not completed (start it again instead), or was removed.
  NotReconnectable: { retryable: false },
  ProvisioningRemoved: { retryable: false },
  UpdateRejected: { retryable: false },
  // Consent links the gateway refuses.
  LinkExpired: { retryable: false },
  LinkNotFound: { retryable: false },
  LinkInvalid: { retryable: false },
  // Batches: the file, the store, and how a row's workflow ended when the batch had to ask Temporal.
  InvalidBatch: { retryable: false },
  InvalidRow: { retryable: false },
  DuplicateRow: { retryable: false },
  BatchNotFound: { retryable: false },
  BatchConflict: { retryable: false },
  BatchStoreCorrupt: { retryable: false },
  // A page sealed with a key no worker holds (or damaged): retrying cannot open it; a key must be added.
  BatchPageUnreadable: { retryable: false },
  // The batch store cannot be reached or refuses: retried with back-off, and shown as the batch's problem.
  BatchStoreUnavailable: { retryable: true },
  BatchFinished: { retryable: false },
  // A rows activity's progress report that came after the activity ended (refused: its rows are counted already).
  StaleReport: { retryable: false },
  BatchFailed: { retryable: false },
  Failed: { retryable: false },
  Terminated: { retryable: false },
  TimedOut: { retryable: false },
  // Events to `notifyUrl` (a receiver's 4xx makes one delivery final; the type as such may pass).
  NotifyUrlRefused: { retryable: false },
  EventDeliveryFailed: { retryable: true },
  // An error that is not an ApplicationFailure (Temporal retries those).
  Error: { retryable: true },
} as const satisfies Record<string, { retryable: boolean }>;

export type FailureType = keyof typeof FAILURES;

/** The names: `Failure.ConsentExpired === 'ConsentExpired'`. */
export const Failure = Object.freeze(
  Object.fromEntries(Object.keys(FAILURES).map((type) => [type, type])) as { readonly [T in FailureType]: T },
);

export const FAILURE_TYPES = Object.keys(FAILURES) as FailureType[];

export function isRetryableType(type: FailureType): boolean {
  return FAILURES[type].retryable;
}

/** Failure types that retrying cannot fix (for `nonRetryableErrorTypes`); everything else is retried. */
export const NON_RETRYABLE: readonly FailureType[] = FAILURE_TYPES.filter((type) => !isRetryableType(type));

/** A failure of one of our types, with `nonRetryable` as the table marks it. */
export function failure(
  type: FailureType,
  message: string,
  options: { details?: unknown[]; nextRetryDelay?: number; benign?: boolean } = {},
): ApplicationFailure {
  const { details, nextRetryDelay, benign } = options;
  return ApplicationFailure.create({
    type,
    message,
    nonRetryable: !isRetryableType(type),
    ...(details ? { details } : {}),
    ...(nextRetryDelay !== undefined ? { nextRetryDelay } : {}),
    // Expected in normal operation: the worker logs it at DEBUG and counts no failed activity.
    ...(benign ? { category: ApplicationFailureCategory.BENIGN } : {}),
  });
}

/** The innermost cause's type and message: an activity's ApplicationFailure, not the ActivityFailure around it. */
export function failureOf(err: unknown): { type: string; message: string } {
  let current: unknown = err;
  while (current instanceof TemporalFailure && !(current instanceof ApplicationFailure) && current.cause) {
    current = current.cause;
  }
  if (current instanceof ApplicationFailure) return { type: current.type ?? Failure.Error, message: current.message };
  if (current instanceof TemporalFailure) return { type: current.name, message: current.message };
  return { type: Failure.Error, message: current instanceof Error ? current.message : String(current) };
}
