/**
 * `npm run gateway`: the HTTP gateway. Configuration from the environment (GATEWAY_PORT, PUBLIC_BASE_URL,
 * LINK_SIGNING_KEY, TEMPORAL_*, BATCH_STORE_DIR, and for the codec at /codec: PAYLOAD_ENCRYPTION_KEY,
 * CODEC_AUTH_TOKEN, CODEC_CORS_ORIGINS). The first line printed is `gateway listening on http://...`.
 */
import { ProvisioningClient } from '../client.js';
import { codecOptionsFromEnv, type CodecServerOptions } from '../codec/server.js';
import { ConfigError, loadConfigOrExit } from '../config.js';
import { createLogger, pinoLineStream } from '../observability/logger.js';
import { buildApp } from './app.js';

function codecOptionsOrExit(): CodecServerOptions {
  try {
    return { ...codecOptionsFromEnv(process.env), logger: createLogger({ service: 'gateway' }) };
  } catch (err) {
    if (err instanceof ConfigError) {
      for (const p of err.problems) console.error(`config error: ${p}`);
      process.exit(2);
    }
    throw err;
  }
}

async function main(): Promise<void> {
  const config = loadConfigOrExit(process.env);
  const codec = codecOptionsOrExit();
  const client = await ProvisioningClient.connect(config);
  const logging = process.env.GATEWAY_LOG !== 'off';
  // Quiet until listening, so the "gateway listening" line comes first (fastify logs its own at info).
  const app = await buildApp({
    client,
    config,
    codec,
    logger: logging ? { level: 'warn', stream: pinoLineStream({ service: 'gateway' }) } : false,
  });
  // All interfaces: in a container the gateway is reached from outside; GATEWAY_HOST narrows it.
  const host = process.env.GATEWAY_HOST ?? '0.0.0.0';
  await app.listen({ host, port: config.gatewayPort });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.gatewayPort;
  const shown = host === '0.0.0.0' || host === '::' ? 'localhost' : host;
  process.stdout.write(`gateway listening on http://${shown}:${port} (public URL ${config.publicBaseUrl})\n`);
  if (codec.authTokens.length === 0) {
    process.stdout.write(
      `codec at ${config.publicBaseUrl}/codec without CODEC_AUTH_TOKEN: anyone who reaches it can decrypt payloads\n`,
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
  console.error(`gateway failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
