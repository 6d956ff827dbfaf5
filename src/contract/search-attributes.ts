import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/** Typed keys, shared by the workflows (which keep them current) and the client and CLI (which list by them). */
export const ProvisioningStage = defineSearchAttributeKey('ProvisioningStage', SearchAttributeType.KEYWORD);
export const CyclrAccountId = defineSearchAttributeKey('CyclrAccountId', SearchAttributeType.KEYWORD);
export const ConnectorName = defineSearchAttributeKey('ConnectorName', SearchAttributeType.KEYWORD);
export const BatchId = defineSearchAttributeKey('BatchId', SearchAttributeType.KEYWORD);

/** Every custom attribute, for whoever registers them with a Temporal namespace. */
export const SEARCH_ATTRIBUTES = [ProvisioningStage, CyclrAccountId, ConnectorName, BatchId];
