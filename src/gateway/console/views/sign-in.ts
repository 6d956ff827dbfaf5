/** The sign-in page: a gateway token, exchanged once for a session cookie. */
import { html } from '../html.js';
import { csrfField, problemAlert } from './components.js';
import { layout, type PageContext } from './layout.js';

export function signInPage(ctx: PageContext, problem?: string): string {
  return layout(
    ctx,
    'Sign in',
    html`<section class="card narrow">
      <h1>Provisioning console</h1>
      <p>Sign in with a gateway token (GATEWAY_API_TOKENS, or GATEWAY_READ_TOKENS for read-only).</p>
      ${problemAlert(problem)}
      <form method="post" action="/console/sign-in">
        ${csrfField(ctx)}
        <label for="token">Gateway token</label>
        <input id="token" name="token" type="password" autocomplete="off" required autofocus />
        <button type="submit">Sign in</button>
      </form>
    </section>`,
  );
}
