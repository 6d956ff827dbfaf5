export { provisionConnector } from './provision-connector.js';
