/**
 * `npm run gateway`: the HTTP gateway. Configuration from the environment (src/config.ts, kind `gateway`). The first
 * line printed is `gateway listening on http://...`.
 */
import { ProvisioningClient } from '../client.js';
import { loadConfigOrExit } from '../config.js';
import { createLogger, pinoLineStream } from '../observability/logger.js';
import { buildApp } from './app.js';

async function main(): Promise<void> {
  const config = loadConfigOrExit('gateway');
  const { production } = config;
  const allowOpenCodec = config.codec.allowUnauthenticated;
  const codec = {
    keys: config.payloadKeys,
    authTokens: [],
    corsOrigins: config.codec.corsOrigins,
    logger: createLogger({ service: 'gateway', ...config.log }),
  };
  const client = await ProvisioningClient.connect(config);
  const logging = config.gatewayLog;
  // Quiet until listening, so the "gateway listening" line comes first (fastify logs its own at info).
  const app = await buildApp({
    client,
    config,
    codec,
    // The gateway is public (browsers reach it): an open /codec there is for a laptop's Web UI only.
    codecUnauthenticated: allowOpenCodec && !production,
    logger: logging ? { level: 'warn', stream: pinoLineStream({ service: 'gateway', ...config.log }) } : false,
  });
  // All interfaces: in a container the gateway is reached from outside; GATEWAY_HOST narrows it.
  const host = config.gatewayHost;
  await app.listen({ host, port: config.gatewayPort });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.gatewayPort;
  const shown = host === '0.0.0.0' || host === '::' ? 'localhost' : host;
  process.stdout.write(`gateway listening on http://${shown}:${port} (public URL ${config.publicBaseUrl})\n`);
  if (config.gatewayTokens.write.length + config.gatewayTokens.read.length === 0) {
    process.stdout.write('no GATEWAY_API_TOKENS: every management route answers 401 (npm run stack generates one)\n');
  }
  if (allowOpenCodec) {
    process.stdout.write(
      production
        ? 'CODEC_ALLOW_UNAUTHENTICATED is ignored by the gateway in production: its /codec needs a gateway token\n'
        : `codec at ${config.publicBaseUrl}/codec without a token (CODEC_ALLOW_UNAUTHENTICATED, development only)\n`,
    );
  }
  if (logging) app.log.level = 'info';

  const stop = async (signal: string) => {
    process.stdout.write(`gateway stopping (${signal})\n`);
    await app.close();
    await client.temporal.connection.close();
    process.exit(0);
  };
  process.once('SIGINT', (s) => void stop(s));
  process.once('SIGTERM', (s) => void stop(s));
}

main().catch((err: unknown) => {
  createLogger({ service: 'gateway' }).error(`gateway failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
