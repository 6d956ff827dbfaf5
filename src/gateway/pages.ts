/**
 * Small self-contained HTML pages for people who click links (consent link, OAuth callback): what happened and what
 * to do next, in plain words. No external assets, no scripts.
 */
import type { FastifyReply } from 'fastify';

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export interface PageContent {
  title: string;
  message: string;
  /** A link for the next step, e.g. back to the app. */
  action?: { href: string; label: string };
}

export function renderPage({ title, message, action }: PageContent): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>${escapeHtml(title)}</title>
<style>
body{font-family:system-ui,sans-serif;margin:0;background:#f4f6f8;color:#1d2630}
main{max-width:30rem;margin:4rem auto;background:#fff;border-radius:8px;padding:2rem;box-shadow:0 1px 4px #0002}
h1{font-size:1.3rem;margin-top:0} a.button{display:inline-block;margin-top:1rem;padding:.6rem 1.4rem;border-radius:4px;background:#1565c0;color:#fff;text-decoration:none}
</style>
</head>
<body>
<main>
<h1 id="title">${escapeHtml(title)}</h1>
<p id="message">${escapeHtml(message)}</p>${action ? `\n<a class="button" id="action" href="${escapeHtml(action.href)}">${escapeHtml(action.label)}</a>` : ''}
</main>
</body>
</html>
`;
}

/**
 * Pages from link routes are never cached, never framed, and never leak their URL (which carries a token) through
 * the Referer header.
 */
export function sendPage(reply: FastifyReply, status: number, content: PageContent): FastifyReply {
  return noStore(reply)
    .code(status)
    .header('Content-Security-Policy', "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'")
    .header('X-Content-Type-Options', 'nosniff')
    .type('text/html; charset=utf-8')
    .send(renderPage(content));
}

export function noStore(reply: FastifyReply): FastifyReply {
  return reply.header('Cache-Control', 'no-store').header('Referrer-Policy', 'no-referrer');
}
