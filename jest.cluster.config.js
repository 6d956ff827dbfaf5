/**
 * `npm run test:cluster`: the suite that runs on a real Temporal cluster (scripts/cluster/up.sh: PostgreSQL, the
 * Temporal server, mTLS) with several workers and gateways from the compiled build (dist/). Not part of `npm test`.
 */
import base from './jest.config.js';

export default {
  ...base,
  testMatch: ['<rootDir>/test/cluster/**/*.test.ts'],
  testPathIgnorePatterns: [],
  globalSetup: '<rootDir>/test/cluster/global-setup.js',
  globalTeardown: '<rootDir>/test/cluster/global-teardown.js',
  testTimeout: 180_000,
};
