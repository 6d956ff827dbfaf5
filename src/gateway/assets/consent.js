// @ts-check
/**
 * The consent step inside the customer's app: `openConsent(link)` opens our consent link in a popup and settles
 * when the provisioning is `completed`, or fails with a named reason. Served by the gateway at /assets/consent.js
 * (an ES module, no dependencies); types in consent.d.ts beside it.
 *
 * What it can know, and how:
 * - Approved: Cyclr posts the request's `callbackMessage` to this window. That is a hint (anyone can post a
 *   message); the truth is the link's status route, `GET {link}/status`, which this helper polls until `completed`.
 * - Denied: Cyclr posts nothing on failure. Only if the partner's "Connector Callback Error HTML" in Cyclr carries
 *   our snippet (/assets/callback-error.html) does the error page tell this window; otherwise a refusal is seen as
 *   the customer closing the popup (`closed`).
 * - Closed: the popup window is gone and the provisioning is not being verified or completed.
 * - Blocked: no popup could be opened; the page itself goes to the link (`?flow=redirect`) and comes back to the
 *   request's returnUrl, so the promise never settles on this page.
 */
/* global window, fetch, setTimeout, clearTimeout, setInterval, clearInterval, URL */

/** The `type` of the message our Callback Error HTML snippet posts. */
export const CALLBACK_ERROR_MESSAGE_TYPE = 'cyclr-provisioner:callback-error';

const ENDED = /** @type {const} */ (['cancelled', 'expired', 'failed']);

/** A failure with a `reason` a caller can branch on (see consent.d.ts for the list). */
export class ConsentError extends Error {
  /**
   * @param {string} reason
   * @param {string} message
   * @param {string} [detail]
   */
  constructor(reason, message, detail) {
    super(message);
    this.name = 'ConsentError';
    this.reason = reason;
    if (detail !== undefined) this.detail = detail;
  }
}

/**
 * The link's status route: `{link}/status`, without the link's query or fragment.
 * @param {string} link
 */
export function statusUrlOf(link) {
  const url = new URL(link, window.location.href);
  url.search = '';
  url.hash = '';
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/status`;
  return url.toString();
}

/** @param {string} link */
function redirectFlowUrl(link) {
  const url = new URL(link, window.location.href);
  url.searchParams.set('flow', 'redirect');
  return url.toString();
}

function popupFeatures() {
  const width = 520;
  const height = 680;
  const left = Math.max(0, Math.round(window.screenX + (window.outerWidth - width) / 2));
  const top = Math.max(0, Math.round(window.screenY + (window.outerHeight - height) / 3));
  return `popup,width=${width},height=${height},left=${left},top=${top}`;
}

/**
 * Opens the consent link in a popup. Call it from the click handler itself (browsers allow popups only there).
 * @param {string} link our consent link (`.../connect/{token}`), e.g. the status's `consentLink`
 * @param {import('./consent.js').OpenConsentOptions} [options]
 * @returns {Promise<import('./consent.js').ConsentResult>}
 */
export function openConsent(link, options = {}) {
  const promise = run(link, options);
  // Callbacks and the promise both work; with callbacks only, a failure is not an unhandled rejection.
  promise.then(
    (result) => options.onDone?.(result),
    (error) => options.onError?.(error),
  );
  return promise;
}

/**
 * @param {string} link
 * @param {import('./consent.js').OpenConsentOptions} o
 * @returns {Promise<import('./consent.js').ConsentResult>}
 */
function run(link, o) {
  return new Promise((resolve, reject) => {
    const statusUrl = statusUrlOf(link);
    const pollMs = o.pollIntervalMs ?? 1000;
    const deadline = Date.now() + (o.timeoutMs ?? 30 * 60_000);
    /** After the popup closes, how long an approval (message seen, or the workflow verifying) may take. */
    const afterCloseMs = 120_000;

    const popup = window.open(link, 'cyclr-consent', o.features ?? popupFeatures());
    if (!popup) {
      if (o.redirect === false) {
        reject(new ConsentError('blocked', 'the browser blocked the consent popup'));
      } else {
        window.location.assign(redirectFlowUrl(link));
      }
      return;
    }

    let settled = false;
    let approved = false;
    /** @type {unknown} */
    let message;
    /** @type {number | undefined} */
    let closedAt;
    /** @type {string | undefined} */
    let lastStage;
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    let pollTimer;
    let polling = false;

    /**
     * @param {(value: any) => void} settle
     * @param {unknown} value
     */
    const finish = (settle, value) => {
      if (settled) return;
      settled = true;
      window.removeEventListener('message', onMessage);
      o.signal?.removeEventListener('abort', onAbort);
      clearTimeout(pollTimer);
      clearInterval(closedTimer);
      if (!popup.closed) popup.close();
      settle(value);
    };
    /** @param {string} reason @param {string} text @param {string} [detail] */
    const fail = (reason, text, detail) => finish(reject, new ConsentError(reason, text, detail));

    /** @param {MessageEvent} event */
    function onMessage(event) {
      // Only the window we opened, and (if told) only Cyclr's origin, may speak to us.
      if (event.source !== popup) return;
      if (o.cyclrOrigin !== undefined && event.origin !== o.cyclrOrigin) return;
      const data = event.data;
      if (data && typeof data === 'object' && data.type === CALLBACK_ERROR_MESSAGE_TYPE) {
        const error = typeof data.error === 'string' ? data.error : '';
        if (error === 'access_denied') fail('denied', 'the customer declined access', error);
        else fail('auth-error', `the connection could not be authorised (${error || 'unknown error'})`, error);
        return;
      }
      if (o.callbackMessage !== undefined && data !== o.callbackMessage) return;
      approved = true;
      message = data;
      schedule(0);
    }

    function onAbort() {
      fail('aborted', 'the consent was abandoned by the app');
    }

    /** @param {number} ms */
    function schedule(ms) {
      if (settled) return;
      clearTimeout(pollTimer);
      pollTimer = setTimeout(poll, ms);
    }

    async function poll() {
      if (settled || polling) return;
      polling = true;
      try {
        await check();
      } finally {
        polling = false;
      }
      if (settled) return;
      const now = Date.now();
      if (now > deadline) return fail('timeout', 'the consent was not completed in time');
      if (closedAt !== undefined) {
        const stillGoing = approved || lastStage === 'verifying';
        if (!stillGoing) return fail('closed', 'the consent window was closed before the connection was made');
        if (now - closedAt > afterCloseMs) return fail('timeout', 'the approval was not confirmed in time');
      }
      schedule(pollMs);
    }

    async function check() {
      /** @type {Response} */
      let res;
      try {
        res = await fetch(statusUrl, { cache: 'no-store', credentials: 'omit' });
      } catch {
        return; // offline or gateway restarting: poll again
      }
      if (settled) return;
      const body = await res.json().catch(() => ({}));
      if (res.status === 200 && typeof body.stage === 'string') {
        lastStage = body.stage;
        if (body.stage === 'completed') return finish(resolve, { stage: 'completed', message });
        if (ENDED.includes(body.stage)) return fail(body.stage, `the provisioning is ${body.stage}`);
        return;
      }
      if (res.status === 410 || res.status === 403 || res.status === 404) {
        const reason =
          body.error === 'LinkExpired' ? 'expired' : body.error === 'LinkRevoked' ? 'revoked' : 'invalid-link';
        return fail(reason, body.message || `the consent link was refused (${res.status})`, body.error);
      }
      // 429, 5xx: poll again.
    }

    const closedTimer = setInterval(() => {
      if (closedAt === undefined && popup.closed) {
        closedAt = Date.now();
        schedule(0); // one last look: it may have completed just now
      }
    }, 250);
    window.addEventListener('message', onMessage);
    if (o.signal?.aborted) return onAbort();
    o.signal?.addEventListener('abort', onAbort);
    schedule(pollMs);
  });
}
