/** The frame every console page shares (head, navigation, sign-out, scripts), and the page that only says something. */
import type { Scope } from '../../auth.js';
import { html, type Html } from '../html.js';
import { csrfField } from './components.js';

export interface PageContext {
  /** Absent on the sign-in page. */
  scope?: Scope;
  /** Which configured token the session was opened with, e.g. "write token 3f9a2c1b". */
  tokenName?: string;
  csrf: string;
}

const NAV = [
  { href: '/console', label: 'Provisionings' },
  { href: '/console/batches', label: 'Batches' },
  { href: '/console/lapsed', label: 'Lapsed connections' },
];

export function layout(ctx: PageContext, title: string, body: Html, scripts: string[] = []): string {
  const scopeText = ctx.scope === 'write' ? 'read and write' : 'read only';
  const tokenName = ctx.tokenName ? html` <span id="token-name">(${ctx.tokenName})</span>` : '';
  const nav = ctx.scope
    ? html`<header>
        <nav aria-label="Console">
          <a class="brand" href="/console">Provisioning console</a>
          ${NAV.map((n) => html`<a href="${n.href}">${n.label}</a>`)}
          ${ctx.scope === 'write' ? html`<a href="/console/bulk">Bulk actions</a>` : ''}
        </nav>
        <form method="post" action="/console/sign-out" class="signout">
          <span id="scope">Signed in: ${scopeText}${tokenName}</span>
          ${csrfField(ctx)}
          <button type="submit">Sign out</button>
        </form>
      </header>`
    : '';
  return `<!DOCTYPE html>${html`<html lang="en">
    <head>
      <meta charset="utf-8" />
      <meta name="viewport" content="width=device-width, initial-scale=1" />
      <meta name="robots" content="noindex" />
      <title>${title} · Provisioning console</title>
      <link rel="stylesheet" href="/console/assets/console.css" />
    </head>
    <body>
      ${nav}
      <main id="main">${body}</main>
      <script src="/console/assets/console.js"></script>
      ${scripts.map((s) => html`<script src="/console/assets/${s}"></script>`)}
    </body>
  </html>`}`;
}

export function messagePage(ctx: PageContext, title: string, message: string, back?: { href: string; label: string }) {
  return layout(
    ctx,
    title,
    html`<section class="card narrow">
      <h1>${title}</h1>
      <p id="message" role="alert">${message}</p>
      ${back ? html`<a href="${back.href}">${back.label}</a>` : ''}
    </section>`,
  );
}
