# mqgate: the gateway in a container.
#   docker build -t mqgate .
#   docker run -p 8080:8080 -v mqgate-data:/data -v "$PWD/keys.yaml:/etc/mqgate/keys.yaml:ro" mqgate
# Listening beyond loopback needs API keys (mqgate keys create --keys-file keys.yaml),
# or MQGATE_ALLOW_UNAUTHENTICATED=true on a network nobody else can reach.

# Build: compile TypeScript and better-sqlite3 (from source, as .npmrc says), then drop dev dependencies.
FROM node:20-bookworm-slim AS build
RUN apt-get update \
  && apt-get install -y --no-install-recommends python3 make g++ \
  && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN npm ci
COPY tsconfig.json tsconfig.build.json openapi.yaml ./
COPY api ./api
COPY queue ./queue
COPY persistence ./persistence
COPY bench ./bench
RUN npm run build && npm prune --omit=dev

# Run: the compiled gateway and the files it reads at start (the contract, migrations, web pages); no compilers.
FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    MQGATE_HOST=0.0.0.0 \
    MQGATE_PORT=8080 \
    MQGATE_DATA_DIR=/data \
    MQGATE_KEYS_FILE=/etc/mqgate/keys.yaml
WORKDIR /app
COPY --from=build /app/package.json /app/openapi.yaml ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/persistence/sqlite/migrations ./persistence/sqlite/migrations
COPY --from=build /app/persistence/postgres/migrations ./persistence/postgres/migrations
COPY --from=build /app/api/pages ./api/pages
RUN mkdir -p /data /etc/mqgate && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 8080
# /readyz: the store takes writes and the schema is current (no curl in the slim image: node's own fetch).
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:8080/readyz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# SIGTERM reaches node directly (exec form): in-flight requests finish and the WAL is checkpointed.
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "dist/api/main.js"]
CMD ["serve"]
