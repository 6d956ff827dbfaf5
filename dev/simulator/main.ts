/**
 * `npm run simulator`: the Cyclr simulator as a process.
 *   --port N (or SIMULATOR_PORT, default 5055)  --host H
 *   --client-id / --client-secret (or SIMULATOR_CLIENT_ID / SIMULATOR_CLIENT_SECRET)
 *   faults: --latency MS --error-rate R --rate-limit-rate R --retry-after S --drop-after-commit-rate R
 *           --endpoint GROUP (which group the fault flags apply to; default '*') --seed N
 *   --account ID (repeatable; pre-creates accounts)  --pagination-headers  --log
 *   --state FILE (or SIMULATOR_STATE_FILE): keep accounts and account connectors across restarts
 */
import { parseArgs } from 'node:util';
import { ENDPOINT_GROUPS, parseFaultConfig, type FaultConfig, type FaultRule, type FaultTarget } from './faults.js';
import { startSimulator } from './server.js';

function fail(message: string): never {
  console.error(`simulator: ${message}`);
  process.exit(2);
}

function num(flag: string, raw: string | undefined, opts: { int?: boolean; min?: number; max?: number } = {}) {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  const ok =
    raw.trim() !== '' &&
    Number.isFinite(n) &&
    (!opts.int || Number.isInteger(n)) &&
    (opts.min === undefined || n >= opts.min) &&
    (opts.max === undefined || n <= opts.max);
  if (!ok) {
    const range = opts.max !== undefined ? ` between ${opts.min} and ${opts.max}` : ` of at least ${opts.min ?? 0}`;
    fail(`--${flag} must be ${opts.int ? 'a whole number' : 'a number'}${range}, got "${raw}".`);
  }
  return n;
}

async function main() {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        port: { type: 'string' },
        host: { type: 'string' },
        'client-id': { type: 'string' },
        'client-secret': { type: 'string' },
        latency: { type: 'string' },
        'error-rate': { type: 'string' },
        'rate-limit-rate': { type: 'string' },
        'retry-after': { type: 'string' },
        'drop-after-commit-rate': { type: 'string' },
        endpoint: { type: 'string' },
        seed: { type: 'string' },
        account: { type: 'string', multiple: true },
        'pagination-headers': { type: 'boolean' },
        log: { type: 'boolean' },
        state: { type: 'string' },
      },
      strict: true,
    }));
  } catch (e) {
    fail(`${(e as Error).message} (see the header of dev/simulator/main.ts for the flags).`);
  }

  const port = num('port', values.port ?? process.env.SIMULATOR_PORT ?? '5055', { int: true, min: 0, max: 65535 });
  const endpoint = (values.endpoint ?? '*') as FaultTarget;
  if (endpoint !== '*' && !(ENDPOINT_GROUPS as readonly string[]).includes(endpoint)) {
    fail(`--endpoint must be one of ${[...ENDPOINT_GROUPS, '*'].join(', ')}, got "${endpoint}".`);
  }
  const rule: FaultRule = {
    latencyMs: num('latency', values.latency, { int: true, min: 0, max: 600_000 }),
    errorRate: num('error-rate', values['error-rate'], { min: 0, max: 1 }),
    rateLimitRate: num('rate-limit-rate', values['rate-limit-rate'], { min: 0, max: 1 }),
    retryAfterSeconds: num('retry-after', values['retry-after'], { int: true, min: 0, max: 3600 }),
    dropAfterCommitRate: num('drop-after-commit-rate', values['drop-after-commit-rate'], { min: 0, max: 1 }),
  };
  const definedRule = Object.fromEntries(Object.entries(rule).filter(([, v]) => v !== undefined)) as FaultRule;
  const faults: FaultConfig = parseFaultConfig({
    ...(values.seed !== undefined ? { seed: num('seed', values.seed, { int: true }) } : {}),
    ...(Object.keys(definedRule).length ? { [endpoint]: definedRule } : {}),
  });

  const clientId = values['client-id'] ?? process.env.SIMULATOR_CLIENT_ID;
  const clientSecret = values['client-secret'] ?? process.env.SIMULATOR_CLIENT_SECRET;
  const sim = await startSimulator({
    port,
    host: values.host,
    clientId: clientId || undefined,
    clientSecret: clientSecret || undefined,
    faults,
    accounts: values.account,
    paginationHeaders: values['pagination-headers'] ?? false,
    log: values.log ?? false,
    stateFile: values.state ?? (process.env.SIMULATOR_STATE_FILE || undefined),
  });
  console.log(`Cyclr simulator listening on ${sim.url}`);
  if (values.state ?? process.env.SIMULATOR_STATE_FILE) {
    console.log(`state kept in ${values.state ?? process.env.SIMULATOR_STATE_FILE}`);
  }
  if (Object.keys(faults).length) console.log(`faults: ${JSON.stringify(faults)}`);

  let closing = false;
  const stop = () => {
    if (closing) return;
    closing = true;
    sim.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((e: unknown) => {
  const err = e as NodeJS.ErrnoException;
  fail(err.code === 'EADDRINUSE' ? `port already in use (${err.message}); pick another with --port.` : err.message);
});
