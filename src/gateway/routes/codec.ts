/**
 * The remote payload codec on the gateway at /codec (POST /codec/encode, /codec/decode), so the Temporal Web UI
 * (`--ui-codec-endpoint`) and CLI (`--codec-endpoint`) can show our encrypted payloads. The plugin, its auth and CORS
 * rules are src/codec/server.ts's; this file mounts it and documents it.
 */
import { CODEC_PREFIX, codecRoutes, type CodecServerOptions } from '../../codec/server.js';
import type { GatewayRoutes } from '../deps.js';

const payloadsSchema = {
  type: 'object',
  required: ['payloads'],
  properties: {
    payloads: {
      type: 'array',
      maxItems: 10_000,
      items: {
        type: 'object',
        properties: {
          metadata: { type: 'object', additionalProperties: { type: 'string', contentEncoding: 'base64' } },
          data: { type: 'string', contentEncoding: 'base64' },
        },
      },
    },
  },
};

const error = (description: string) => ({
  description,
  content: {
    'application/json': {
      schema: {
        type: 'object',
        required: ['error', 'message'],
        properties: { error: { type: 'string' }, message: { type: 'string' } },
      },
    },
  },
});

function operation(action: 'encode' | 'decode') {
  return {
    post: {
      operationId: `codec${action === 'encode' ? 'Encode' : 'Decode'}`,
      summary:
        action === 'encode'
          ? "Encrypt payloads (Temporal's remote codec protocol)"
          : "Decrypt payloads for the Temporal Web UI and CLI (Temporal's remote codec protocol)",
      description:
        'Authorization: Bearer <a token from GATEWAY_API_TOKENS> (read tokens are refused: decoded payloads carry secrets; only the local stack leaves it open). ' +
        'CORS allows the origins in CODEC_CORS_ORIGINS (the Temporal UI). Bodies up to 16 MB.',
      parameters: [
        {
          name: 'X-Namespace',
          in: 'header',
          required: false,
          description: 'Sent by the Temporal UI; informational.',
          schema: { type: 'string' },
        },
      ],
      requestBody: { required: true, content: { 'application/json': { schema: payloadsSchema } } },
      responses: {
        '200': {
          description: 'The payloads, transformed',
          content: { 'application/json': { schema: payloadsSchema } },
        },
        '400': error('The body is not {"payloads": [...]} with base64 fields'),
        '401': error('Missing or wrong bearer token'),
        '422': error('A payload could not be decoded (e.g. encrypted with a key this gateway does not hold)'),
      },
    },
  };
}

/** Mounted by buildApp when it is given codec options (main.ts: codecOptionsFromEnv()). */
export function codecGatewayRoutes(options: CodecServerOptions): GatewayRoutes {
  return {
    register(app) {
      void app.register(codecRoutes, { ...options, prefix: CODEC_PREFIX });
    },
    paths: { [`${CODEC_PREFIX}/encode`]: operation('encode'), [`${CODEC_PREFIX}/decode`]: operation('decode') },
  };
}
