# syntax=docker/dockerfile:1
# sticky-ingress container image. Build: docker build -t sticky-ingress:dev .
# Base images are pinned to a major (Node 24, Debian 12); pin a digest (node:24-bookworm-slim@sha256:...) in
# your own registry mirror for reproducible builds. scripts/check-dockerfile.sh lints this file in CI.

# ---- build: compile TypeScript to dist/ ---------------------------------------------------------------------
FROM node:24-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
# Full install: the compiler and the `node` devDependency that `npm run` puts first on PATH.
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY cmd ./cmd
COPY src ./src
RUN npm run build

# ---- deps: production dependencies only ---------------------------------------------------------------------
FROM node:24-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# --omit=dev leaves out the `node` devDependency too: the runtime uses the base image's Node 24.
# --ignore-scripts: no production dependency needs an install script, and none should run in the image.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

# ---- runtime -------------------------------------------------------------------------------------------------
FROM node:24-bookworm-slim AS runtime
# Stamp these at build time: docker build --build-arg VERSION=0.1.0 --build-arg REVISION=$(git rev-parse HEAD) ...
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG SOURCE=""
LABEL org.opencontainers.image.title="sticky-ingress" \
      org.opencontainers.image.description="Kubernetes ingress controller for real-time apps: TLS at the edge, sticky socket.io and WebSocket balancing, hot-swapped configuration." \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.base.name="docker.io/library/node:24-bookworm-slim"
ENV NODE_ENV=production
# --max-semi-space-size=16: V8's young generation stays at 2 x 16 MiB instead of growing to 2 x 64 MiB (Node 24
# sizes it without regard to the container's memory limit). Idle WebSocket tunnels: ~4 KiB of RSS each at
# 2,000 instead of ~15; HTTP CPU per request unchanged within this bench's noise (bench/RESULTS.md, issue 13
# item 4). An environment variable, so the chart's extraEnv can replace it; the bench reads it from here.
ENV NODE_OPTIONS=--max-semi-space-size=16
WORKDIR /app
# package.json: `--version` reads it (two levels above dist/cmd/).
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY package.json ./
# A numeric user, so the kubelet can verify runAsNonRoot; 10001 matches the Helm chart's securityContext.
USER 10001:10001
# 8080 HTTP, 8443 HTTPS, 9090 admin (/healthz, /readyz, /metrics, /stats).
EXPOSE 8080 8443 9090
# Exec form: node is PID 1 and receives SIGTERM itself. No tini/--init: `serve` installs SIGTERM/SIGINT
# handlers (PID 1 gets no default signal action, so a handler is required, and it is there). With
# --workers it forks dataplane workers through node:cluster, which waits for (reaps) its own children.
ENTRYPOINT ["node", "dist/cmd/sticky-ingress.js"]
CMD ["serve"]
