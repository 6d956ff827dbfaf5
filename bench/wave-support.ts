/**
 * Support at the size of a wave (issue 21, item 5), measured by bench:wave once every row waits: a gateway over the
 * same server and the console's list of those awaiting consent (its stage counts from Temporal's count API, its rows
 * from one visibility page), then the CLI's list. Each page is loaded five times; the slowest is what is judged.
 */
import { freePort } from '../dev/local-stack/dev-server.js';
import { startService } from '../dev/local-stack/processes.js';
import { consoleCookie } from '../test/support/console-session.js';
import { percentile } from './support.js';

const TOKEN = 'bench-console-token-0123456789abcdef';
const LOADS = 5;

async function timed(load: () => Promise<void>): Promise<number[]> {
  const ms: number[] = [];
  for (let i = 0; i < LOADS; i++) {
    const t = performance.now();
    await load();
    ms.push(performance.now() - t);
  }
  return ms;
}

function line(what: string, ms: number[], targetMs?: number): string {
  const worst = Math.max(...ms);
  const verdict = targetMs ? ` (target <= ${targetMs} ms: ${worst <= targetMs ? 'met' : 'MISSED'})` : '';
  return `  ${what}: median ${percentile(ms, 50).toFixed(0)} ms, slowest of ${ms.length} ${worst.toFixed(0)} ms${verdict}`;
}

export async function measureSupport(env: Record<string, string>, waiting: number): Promise<void> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const gateway = startService({
    name: 'gateway',
    script: 'src/gateway/main.ts',
    env: {
      ...env,
      GATEWAY_PORT: String(port),
      GATEWAY_HOST: '127.0.0.1',
      GATEWAY_API_TOKENS: TOKEN,
      PUBLIC_BASE_URL: url,
    },
  });
  try {
    await gateway.waitFor(/gateway listening/, 120_000);
    const cookie = await consoleCookie(url, TOKEN);
    const page = (path: string) => async () => {
      const res = await fetch(`${url}${path}`, { headers: { cookie } });
      const body = await res.text();
      if (res.status !== 200) throw new Error(`${path} answered ${res.status}: ${body.slice(0, 300)}`);
    };
    const list = await timed(page('/console/?stage=awaiting-consent'));
    const counts = await timed(page('/console/?stage=completed'));
    const cli = await timed(
      () =>
        new Promise<void>((resolve, reject) => {
          const run = startService({
            name: 'cli',
            script: 'src/cli/main.ts',
            args: ['list', '--stage', 'awaiting-consent', '--limit', '50', '--json'],
            env,
          });
          run.process.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`list exited ${code}`))));
        }),
    );
    console.log(`support with ${waiting} awaiting consent (a gateway and the CLI on the same server):`);
    console.log(line('console list, awaiting consent (first page of 50, stage counts)', list, 1000));
    console.log(line('console stage counts with an empty list (counts only)', counts));
    console.log(line('`provisioner list --stage awaiting-consent --limit 50` (a new process each time)', cli));
  } finally {
    await gateway.kill();
  }
}
