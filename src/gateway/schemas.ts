/**
 * The gateway's own schemas (the provisioning request and the batch body are the contract's): path parameters,
 * cancel bodies, and the answers, so the OpenAPI document is generated from them. Inputs are validated with them;
 * answers are documented by them (replies are sent as built, never re-shaped by a schema).
 */
import { z } from 'zod';
import { batchRowSchema } from '../contract/batch-messages.js';
import { provisioningRequestSchema } from '../contract/request.js';
import { STAGES } from '../contract/stages.js';
import { SchemaNames } from './json-schema.js';

const stage = z.enum(STAGES);
const dateTime = z.string().datetime();

export const failureSchema = z.object({ type: z.string(), message: z.string() });

export const errorBodySchema = z.object({
  error: z.string().describe('InvalidRequest, ProvisioningNotFound, ProvisioningFinished, NotAwaitingConsent, ...'),
  message: z.string(),
  fields: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
});

export const provisioningStatusSchema = z.object({
  stage,
  accountId: z.string(),
  connector: z.object({ id: z.number().int().optional(), name: z.string().optional() }),
  accountConnectorId: z.number().int().optional(),
  consentLink: z.string().url().optional().describe('Our long-lived signed consent link.'),
  consentExpiresAt: dateTime.optional(),
  returnUrl: z.string().url().optional(),
  attempts: z.number().int().describe('Checks of Authenticated with Cyclr while awaiting consent.'),
  history: z.array(z.object({ stage, at: dateTime, note: z.string().optional() })),
  remindersSent: z.number().int().optional(),
  timeouts: z
    .object({ consent: z.string(), reminderEvery: z.string(), checkEvery: z.string(), checkEveryMax: z.string() })
    .optional()
    .describe("The request's timeouts, defaults filled in (provisionings started since checkEveryMax exists)."),
  consentChecks: z
    .object({
      gap: z.string().describe('The idle gap between checks now: checkEvery, doubling to checkEveryMax.'),
      nextAt: dateTime.describe('When Cyclr is asked next.'),
      briskUntil: dateTime
        .optional()
        .describe('Checks are brisk until then, after a click on the consent link or a consent hint.'),
    })
    .optional()
    .describe('While awaiting consent: the schedule of checks with Cyclr.'),
  lastError: failureSchema.optional(),
  batchId: z.string().optional(),
  reconnects: z.number().int().optional().describe('How many times it was reconnected (absent until the first).'),
});

/** The body of `POST /provisionings/{id}/reconnect` (optional). */
export const reconnectBodySchema = z.preprocess(
  (body) => (body === null ? undefined : body),
  z
    .object(
      {
        force: z
          .boolean({ invalid_type_error: 'must be true or false' })
          .optional()
          .describe('De-authenticate at Cyclr first, so the customer consents afresh'),
      },
      { invalid_type_error: 'must be a JSON object such as {"force": true}' },
    )
    .strict('the only field is "force"; send {"force": true} or no body')
    .optional(),
);

/** The answer to `DELETE /provisionings/{id}`. */
export const removedSchema = z.object({
  workflowId: z.string(),
  removedByThisCall: z.boolean().describe('False when it had been removed already: nothing was done this time'),
  status: provisioningStatusSchema,
});

export const provisioningSchema = z.object({ workflowId: z.string(), status: provisioningStatusSchema });

export const consentLinkSchema = z.object({ workflowId: z.string(), url: z.string().url(), expiresAt: dateTime });

/** The named schemas: `components.schemas` in the document, `$ref`s wherever they are used. */
export const schemaNames = new SchemaNames({
  ProvisioningRequest: provisioningRequestSchema,
  ProvisioningStatus: provisioningStatusSchema,
  Provisioning: provisioningSchema,
  ConsentLink: consentLinkSchema,
  Failure: failureSchema,
  Error: errorBodySchema,
}).refersTo(batchRowSchema, 'ProvisioningRequest');

/** A JSON answer, documented with what it means here. */
export const json = (schema: z.ZodTypeAny, description: string) => ({
  description,
  content: { 'application/json': { schema } },
});

/** An error answer (`Error`), documented with what it means here. */
export const errorResponse = (description: string) => json(errorBodySchema, description);

export const workflowIdParams = z.object({
  id: z.string().describe('The workflow id, e.g. provision:{accountId}:{installName}, URL-encoded.'),
});

const REASON_HINT = 'must be a string of at most 500 characters';

/** `POST .../cancel` for provisionings and batches: `{"reason": "..."}`, or no body at all. */
export const cancelBodySchema = z.preprocess(
  (body) => (body === null ? undefined : body),
  z
    .object(
      { reason: z.string({ invalid_type_error: REASON_HINT }).max(500, REASON_HINT).optional() },
      { invalid_type_error: 'must be a JSON object such as {"reason": "customer churned"}' },
    )
    .strict('the only field is "reason"; send {"reason": "..."} or no body')
    .optional(),
);

/** The answers to `POST .../cancel`: the id under its own name, and `cancelling: true`. */
export const cancelResponses = (idField: 'workflowId' | 'batchId', noun: string) => ({
  202: json(z.object({ [idField]: z.string(), cancelling: z.literal(true) }), 'Cancellation requested'),
  400: errorResponse('Invalid body'),
  404: errorResponse(`No such ${noun}`),
  409: errorResponse('Already finished'),
});
