/** Signing in to the support console over plain HTTP, as a browser's form post would. */

/** Cookies from Set-Cookie headers, as a Cookie header. */
export function cookiesOf(res: Response): string {
  return res.headers
    .getSetCookie()
    .map((c) => c.split(';')[0])
    .join('; ');
}

/** The CSRF token of the page's form. */
export function csrfOf(body: string): string {
  return /name="_csrf" value="([^"]+)"/.exec(body)![1]!;
}

/** Signs in with `token` at the gateway `url`; returns the session's Cookie header. */
export async function consoleCookie(url: string, token: string): Promise<string> {
  const form = await fetch(`${url}/console`, { redirect: 'manual' });
  const res = await fetch(`${url}/console/sign-in`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: cookiesOf(form) },
    body: new URLSearchParams({ token, _csrf: csrfOf(await form.text()) }).toString(),
  });
  if (res.status !== 303 && res.status !== 302) throw new Error(`console sign-in answered ${res.status}`);
  return cookiesOf(res);
}
