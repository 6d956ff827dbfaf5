// Failure messages and stack traces go into an "encoded attributes" payload, which the payload codec encrypts like
// every other payload, so Temporal's history holds no failure text in the clear. CommonJS, loaded by path: the SDK
// `require`s it in every client and worker (DataConverter.failureConverterPath) and bundles it into the workflows.
const { DefaultFailureConverter } = require('@temporalio/common');

exports.failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
