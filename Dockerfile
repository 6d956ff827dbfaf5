# syntax=docker/dockerfile:1
# One image for the worker, the gateway and the codec server (pick with the command). Multi-stage: dependencies,
# then `npm run build` (tsc to dist/, the workflow bundle built once), then a slim runtime with no TypeScript and no
# dev dependencies that runs `node dist/...` as the non-root `node` user.

ARG NODE_IMAGE=node:22.23-bookworm-slim

FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# npm 11 runs no install scripts by default; the Temporal core bridge ships prebuilt native binaries.
RUN npm ci --ignore-scripts --no-audit --no-fund

FROM deps AS build
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/build.ts ./scripts/
COPY src ./src
# Workers load dist/workflows-bundle.js instead of bundling the workflow code at every start (WORKFLOW_BUNDLE_PATH).
RUN npm run build

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    WORKFLOW_BUNDLE_PATH=/app/dist/workflows-bundle.js \
    METRICS_PORT=9464 \
    GATEWAY_PORT=8080
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --chown=root:root bin ./bin
COPY --from=build --chown=root:root /app/dist ./dist
# Files stay root-owned and read-only to the process; the batch store is its one writable path (a volume in compose).
RUN mkdir -p /var/lib/cyclr-provisioner/batches && chown node:node /var/lib/cyclr-provisioner/batches
USER node
EXPOSE 8080 9464 8888
# The worker by default; compose runs the gateway and codec server with other commands.
CMD ["node", "dist/worker.js"]
