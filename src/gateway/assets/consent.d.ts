/**
 * Types for /assets/consent.js, the browser helper for consent inside the customer's app. Kept free of DOM types so
 * it type-checks in any project (`AbortSignal` is in both the DOM and Node's globals).
 */

/**
 * Why a consent did not complete:
 * - `denied`: the customer declined at the third party (needs our Callback Error HTML snippet in Cyclr; without it
 *   a refusal is seen as `closed` when the customer closes the popup).
 * - `auth-error`: the third party or Cyclr reported another error (same snippet; `detail` is the OAuth error code).
 * - `closed`: the popup was closed before the connection was made.
 * - `blocked`: the browser blocked the popup and `redirect: false` was given (otherwise the page redirects).
 * - `expired`, `revoked`, `invalid-link`: the link itself is refused (expired, replaced by a newer one, not ours).
 * - `cancelled`, `failed`: the provisioning ended that way (its link says so; `expired` also covers its consent
 *   window running out).
 * - `timeout`: not completed within `timeoutMs`, or an approval was not confirmed within 2 minutes of the popup
 *   closing.
 * - `aborted`: the app aborted it through `signal`.
 */
export type ConsentFailureReason =
  | 'denied'
  | 'auth-error'
  | 'closed'
  | 'blocked'
  | 'expired'
  | 'revoked'
  | 'invalid-link'
  | 'cancelled'
  | 'failed'
  | 'timeout'
  | 'aborted';

export interface ConsentResult {
  stage: 'completed';
  /** The callbackMessage Cyclr posted, when it did (the completion itself is confirmed by the status route). */
  message?: unknown;
}

export declare class ConsentError extends Error {
  readonly name: 'ConsentError';
  readonly reason: ConsentFailureReason;
  /** The OAuth error code or the gateway's error name, when there is one. */
  readonly detail?: string;
}

export interface OpenConsentOptions {
  onDone?: (result: ConsentResult) => void;
  onError?: (error: ConsentError) => void;
  /** The request's `oauth.callbackMessage`: other messages from the popup are then ignored. */
  callbackMessage?: string;
  /** Cyclr's origin (your Partner Service Domain, e.g. `https://acme-h.cyclr.com`): messages from any other origin
   * are ignored. Without it, only messages from the popup window itself are heard. */
  cyclrOrigin?: string;
  /** When the popup is blocked, send this page to the link instead (default true). */
  redirect?: boolean;
  /** How often the link's status is polled, ms (default 1000). */
  pollIntervalMs?: number;
  /** Give up after this long, ms (default 30 minutes). */
  timeoutMs?: number;
  /** `window.open` features (default: a 520x680 popup centred on the app). */
  features?: string;
  /** Abort to stop waiting (the popup is closed; the promise rejects with `aborted`). */
  signal?: AbortSignal;
}

/** The `type` of the message the Callback Error HTML snippet (/assets/callback-error.html) posts. */
export declare const CALLBACK_ERROR_MESSAGE_TYPE: 'cyclr-provisioner:callback-error';

/** `{link}/status`: the stage of the link's provisioning, nothing else. */
export declare function statusUrlOf(link: string): string;

/**
 * Opens the consent link in a popup and settles when the provisioning is completed, or rejects with a
 * `ConsentError`. Call it from a click handler (browsers block popups opened any other way).
 */
export declare function openConsent(link: string, options?: OpenConsentOptions): Promise<ConsentResult>;
