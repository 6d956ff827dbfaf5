/**
 * HTML for the connectorauth flow: consent screen, completion page (postMessage), Cyclr's "Connector Callback Error"
 * page and the IIS-style 403. Self-contained (no external assets) so headless Chromium can drive it offline.
 */

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** JSON that is safe inside an inline <script> (no `</script>` breakout, no U+2028 surprises). */
function scriptJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

function page(title: string, body: string, script = ''): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>
body{font-family:system-ui,sans-serif;margin:0;background:#f4f6f8;color:#1d2630}
main{max-width:28rem;margin:4rem auto;background:#fff;border-radius:8px;padding:2rem;box-shadow:0 1px 4px #0002}
h1{font-size:1.3rem;margin-top:0} dl{display:grid;grid-template-columns:auto 1fr;gap:.3rem 1rem}
dt{color:#5b6b7a} .buttons{display:flex;gap:1rem;margin-top:1.5rem}
button{font-size:1rem;padding:.6rem 1.4rem;border-radius:4px;border:1px solid #8894a0;background:#fff;cursor:pointer}
#approve{background:#1565c0;border-color:#1565c0;color:#fff}
</style>
</head>
<body>
<main>
${body}
</main>${script ? `\n<script>\n${script}\n</script>` : ''}
</body>
</html>
`;
}

export interface ConsentView {
  connectorName: string;
  connectorVersion: string;
  accountName: string;
  accountConnectorName: string;
  nonce: string;
}

export function consentPage(v: ConsentView): string {
  return page(
    `Authorise ${v.connectorName}`,
    `<h1 id="title">Authorise ${escapeHtml(v.connectorName)}</h1>
<p>Cyclr (simulator) is asking for access to your <strong id="connector-name">${escapeHtml(v.connectorName)}</strong> data.</p>
<dl>
<dt>Account</dt><dd id="account-name">${escapeHtml(v.accountName)}</dd>
<dt>Connector</dt><dd id="account-connector-name">${escapeHtml(v.accountConnectorName)}</dd>
<dt>Version</dt><dd>${escapeHtml(v.connectorVersion)}</dd>
</dl>
<form id="consent" method="post" action="/connectorauth/approve">
<input type="hidden" name="nonce" value="${escapeHtml(v.nonce)}">
<div class="buttons">
<button id="approve" type="submit" formaction="/connectorauth/approve">Approve</button>
<button id="deny" type="submit" formaction="/connectorauth/deny">Deny</button>
</div>
</form>`,
  );
}

/**
 * With callbackMessage, Cyclr posts the message to the window that opened it (a popup) or framed it (an iframe),
 * restricted to targetOrigin: a window of any other origin never sees it (the browser drops it silently). The page
 * stays open; closing it is left to the app.
 */
export function callbackMessagePage(message: string, targetOrigin: string): string {
  return page(
    'Connector authenticated',
    `<h1 id="title">Connector authenticated</h1>
<p id="status">You can close this window.</p>`,
    `(function () {
  var message = ${scriptJson(message)};
  var targetOrigin = ${scriptJson(targetOrigin)};
  (window.opener || window.parent).postMessage(message, targetOrigin);
})();`,
  );
}

/** Cyclr's default "Connector Callback Error HTML" body: it tells the user, and nobody else. */
export const DEFAULT_CALLBACK_ERROR_HTML = `<h1 id="title">Connector Callback Error</h1>
<p>There was a problem authenticating the connector.</p>
<dl>
<dt>error</dt><dd id="error">{{error}}</dd>
<dt>error_description</dt><dd id="error-description">{{error_description}}</dd>
</dl>`;

/**
 * Cyclr's "Connector Callback Error" page: the partner's "Connector Callback Error HTML" (Settings > Appearance;
 * default above), with {{error}} and {{error_description}} filled in (HTML-escaped here).
 */
export function callbackErrorPage(error: string, description: string, template = DEFAULT_CALLBACK_ERROR_HTML): string {
  const body = template.replace(/\{\{\s*(error|error_description)\s*\}\}/g, (_, name: string) =>
    escapeHtml(name === 'error' ? error : description),
  );
  return page('Connector Callback Error', body);
}

/** What Cyclr shows for an expired, invalid or already-used token. */
export function forbiddenPage(): string {
  return page(
    '403 - Forbidden: Access is denied.',
    `<h1 id="title">403 – Forbidden: Access is denied.</h1>
<p>You do not have permission to view this directory or page using the credentials that you supplied.</p>`,
  );
}

export function badRequestPage(message: string): string {
  return page('Bad Request', `<h1 id="title">Bad Request</h1>\n<p id="error">${escapeHtml(message)}</p>`);
}
