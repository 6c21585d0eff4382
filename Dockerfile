# syntax=docker/dockerfile:1
# The eviction-guard webhook image.
#   docker build -t ghcr.io/eviction-guard/eviction-guard:0.1.0 .
#   docker run --rm -p 8443:8443 ghcr.io/eviction-guard/eviction-guard:0.1.0
# (Without a cluster the container serves the built-in demo cluster with a self-signed certificate.)
# test/install/dockerfile.test.ts checks this file and runs its build steps without Docker.

# --- build: all dependencies, type-check src/ and bundle it into dist/ ----------------------------
FROM node:22-bookworm-slim AS build
WORKDIR /src
# .npmrc: peers are not auto-installed (legacy-peer-deps), as the lockfile was made.
COPY package.json package-lock.json .npmrc ./
# --ignore-scripts: no dependency runs code at install time, and none needs to for tsc or esbuild.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# --- runtime: the bundled server and the demo cluster only ----------------------------------------
FROM node:22-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
# `npm run build` bundles the server with every dependency it runs into dist/cli/main.js (esbuild,
# which leaves out the parts of @kubernetes/client-node's generated API that nothing calls), so
# the image needs no node_modules.
COPY --from=build /src/dist ./dist
# `serve` falls back to demo/cluster.yaml, found relative to dist/, when there is no cluster.
COPY demo ./demo
# Without --tls-cert/--tls-key, `serve` writes a self-signed pair into ./certs (never baked in:
# .dockerignore keeps certs/ out of the build context). In Kubernetes the root filesystem is
# read-only and the pair comes from the mounted Secret instead.
RUN mkdir certs && chown 10001:10001 certs
# Numeric, so that runAsNonRoot can verify it without a passwd entry.
USER 10001:10001
EXPOSE 8443 9090
# For plain Docker only: Kubernetes ignores HEALTHCHECK and uses the Deployment's probes
# (/healthz, /readyz). node instead of curl, which the image does not have. Assumes --port 8443.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "require('node:https').get({host:'127.0.0.1',port:8443,path:'/healthz',rejectUnauthorized:false,timeout:3000},(r)=>process.exit(r.statusCode===200?0:1)).on('error',()=>process.exit(1))"]
ENTRYPOINT ["node", "dist/cli/main.js"]
CMD ["serve"]
