export { provisionConnector } from './provision-connector.js';
export { provisionBatch } from './provision-batch.js';
export { cyclrRequestRate } from './request-rate-lease.js';
export { checkConnections } from './connection-check.js';
