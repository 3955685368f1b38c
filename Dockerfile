# syntax=docker/dockerfile:1.7
# One Dockerfile for the three services; APP picks which. From the repository root:
#   docker build --build-arg APP=scim-api -t scimbridge/scim-api .        (also scim-worker, scim-controller)
# Two stages: the build stage installs the workspace from the lockfile, compiles with tsc (dependencies stay
# external, so OpenTelemetry can instrument them) and `pnpm deploy`s the app with its production dependencies
# only; the runtime stage is node:24-slim with that directory, run as the non-root user `node` (uid 1000).
# test/e2e/platform-images.test.ts runs the same deploy step and starts the result.
ARG NODE_IMAGE=node:24-slim

FROM ${NODE_IMAGE} AS build
ARG APP
RUN case "$APP" in scim-api|scim-worker|scim-controller) ;; \
      *) echo "--build-arg APP=scim-api|scim-worker|scim-controller is required (got '$APP')" >&2; exit 1 ;; esac
ENV CI=true PNPM_HOME=/pnpm PATH=/pnpm:$PATH
RUN npm install --global --no-fund --no-audit pnpm@12.4.2
WORKDIR /repo
# Dependencies first: this layer is rebuilt only when the lockfile changes.
COPY pnpm-lock.yaml pnpm-workspace.yaml ./
RUN --mount=type=cache,id=pnpm-store,target=/pnpm/store pnpm fetch --frozen-lockfile
COPY . .
RUN --mount=type=cache,id=pnpm-store,target=/pnpm/store \
    pnpm install --frozen-lockfile --offline \
 && pnpm exec turbo run build --filter=@scimbridge/${APP}... \
 && pnpm --filter @scimbridge/${APP} deploy --prod --legacy /out

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
# Owned by root and read-only to the app: the chart also mounts the root filesystem read-only, with /tmp writable.
COPY --from=build /out /app
USER node
# Ports (PORT): scim-api 8080, scim-worker 9091 (ops endpoints), scim-controller 9092 (ops endpoints).
EXPOSE 8080 9091 9092
# node as PID 1 (no npm/pnpm wrapper), so SIGTERM reaches the graceful-shutdown handler. Tracing is loaded with
# NODE_OPTIONS=--import=@scimbridge/telemetry/otel (set by the chart), not baked in here.
CMD ["node", "--enable-source-maps", "dist/main.js"]
