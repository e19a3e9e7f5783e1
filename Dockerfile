# syntax=docker/dockerfile:1
# Herald's container image.
#
#   docker build -t herald .
#   docker run -d --name herald -p 8071:8071 -v herald-data:/data --stop-timeout 30 herald
#
# Three stages: `build` compiles everything with the dev dependencies; `runtime` is the base image
# trimmed of what Herald never uses, plus the server's production dependencies and built code; the
# last stage flattens that into one layer, so what was trimmed is really gone from the image.
#
# NODE_IMAGE is any Debian-based image with Node.js 20.19+ as `node` (the official slim image by
# default). BUILD_IMAGE (default: the same) also needs npm, python3, make and g++; they are
# installed with apt-get when missing. better-sqlite3 is compiled against the image's own Node
# headers when no prebuilt binary can be downloaded.
ARG NODE_IMAGE=docker.io/library/node:20-slim
ARG BUILD_IMAGE=${NODE_IMAGE}

FROM ${BUILD_IMAGE} AS build
RUN set -eu; missing=''; \
    for t in npm python3 make g++; do command -v "$t" >/dev/null || missing="$missing $t"; done; \
    if [ -n "$missing" ]; then \
      apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $missing && rm -rf /var/lib/apt/lists/*; \
    fi
WORKDIR /src
# The manifests first, so the dependency layer is reused while only sources change.
COPY package.json package-lock.json ./
COPY packages/server/package.json packages/server/
COPY packages/config/package.json packages/config/
COPY packages/brokers/package.json packages/brokers/
COPY packages/engage/package.json packages/engage/
COPY packages/receiver/package.json packages/receiver/
COPY packages/receive-gateway/package.json packages/receive-gateway/
COPY packages/dashboard/package.json packages/dashboard/
# Behind a TLS-inspecting proxy, pass its CA bundle as a build secret (never stored in the image):
#   docker build --secret id=npm_ca,src=/etc/ssl/certs/ca-certificates.crt .
RUN --mount=type=secret,id=npm_ca set -eu; \
    if [ -s /run/secrets/npm_ca ]; then export NODE_EXTRA_CA_CERTS=/run/secrets/npm_ca; fi; \
    for d in /usr /usr/local; do [ -f "$d/include/node/node_api.h" ] && export npm_config_nodedir="$d" && break; done; \
    npm ci --no-audit --no-fund
COPY tsconfig.base.json tsconfig.json ./
COPY packages packages
RUN npx tsc -b packages/server && npm run build --silent -w @herald/dashboard

# The server's production dependencies only (not the dashboard's, the gateway's or any dev tool),
# from the cache the install above filled; better-sqlite3's compiled addon is taken from the build.
WORKDIR /app
RUN --mount=type=secret,id=npm_ca set -eu; \
    if [ -s /run/secrets/npm_ca ]; then export NODE_EXTRA_CA_CERTS=/run/secrets/npm_ca; fi; \
    cp /src/package.json /src/package-lock.json ./; \
    for p in server config brokers engage receiver receive-gateway dashboard; do mkdir -p packages/$p && cp /src/packages/$p/package.json packages/$p/; done; \
    npm ci --omit=dev --ignore-scripts --prefer-offline --no-audit --no-fund -w @herald/server; \
    addon=node_modules/better-sqlite3/build/Release; mkdir -p $addon; cp /src/$addon/better_sqlite3.node $addon/; \
    rm -rf node_modules/better-sqlite3/deps node_modules/better-sqlite3/src node_modules/.package-lock.json \
      packages/receive-gateway packages/dashboard/package.json; \
    for p in server config brokers engage receiver; do cp -r /src/packages/$p/dist packages/$p/; rm -f packages/$p/dist/.tsbuildinfo; done; \
    cp -r /src/packages/server/migrations /src/packages/server/contract packages/server/; \
    cp -r /src/packages/dashboard/dist packages/dashboard/; \
    find /app -name '*.d.ts' -delete -o -name '*.map' -delete -o -name '*.md' -delete; \
    node -e "require('/app/node_modules/better-sqlite3')(':memory:').prepare('select 1').get()"

FROM ${NODE_IMAGE} AS runtime
# Herald needs node and its shared libraries, CA certificates and time zones; not the package
# managers' caches, documentation, headers, charset converters, npm, corepack or yarn.
RUN set -eu; \
    rm -rf /usr/share/doc /usr/share/man /usr/share/info /usr/share/locale /usr/share/lintian /usr/include /usr/local/include \
      /usr/local/lib/node_modules /usr/local/bin/npm /usr/local/bin/npx /usr/local/bin/corepack /usr/local/bin/yarn /usr/local/bin/yarnpkg /opt/yarn-* \
      /usr/share/nodejs/corepack /usr/share/nodejs/@types /usr/bin/corepack /usr/lib/*/gconv \
      /var/lib/apt/lists/* /var/cache/apt/* /var/cache/debconf/*-old /var/log/* /root/.npm /tmp/*; \
    grep -q '^herald:' /etc/group || echo 'herald:x:10001:' >> /etc/group; \
    grep -q '^herald:' /etc/passwd || echo 'herald:x:10001:10001:Herald:/data:/usr/sbin/nologin' >> /etc/passwd; \
    mkdir -p /data && chown 10001:10001 /data && chmod 0700 /data; \
    printf '#!/bin/sh\nexec node /app/packages/server/dist/cli/main.js "$@"\n' > /usr/local/bin/herald; chmod 0755 /usr/local/bin/herald
COPY --from=build /app /app

FROM scratch
COPY --from=runtime / /
ARG HERALD_VERSION=dev
LABEL org.opencontainers.image.title="Herald" \
      org.opencontainers.image.description="Self-hosted, Svix-compatible webhook platform" \
      org.opencontainers.image.version="${HERALD_VERSION}" \
      org.opencontainers.image.licenses="MIT"
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    NODE_ENV=production \
    HERALD_HOST=0.0.0.0 \
    HERALD_PORT=8071 \
    HERALD_DATA_DIR=/data
# The SQLite store, the generated operator token and (unless HERALD_MASTER_KEY or
# HERALD_MASTER_KEY_FILE is set) the master key live here.
VOLUME /data
WORKDIR /data
USER 10001:10001
EXPOSE 8071
# Herald handles SIGTERM: it stops taking requests and lets deliveries in flight settle (up to
# HERALD_DELIVERY_TIMEOUT plus a second) before exiting 0; give it that long (`--stop-timeout 30`,
# compose's `stop_grace_period`).
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=10s --timeout=3s --start-period=15s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.HERALD_PORT||8071)+'/api/v1/health').then(r=>process.exit(r.status===204?0:1),()=>process.exit(1))"]
ENTRYPOINT ["node", "/app/packages/server/dist/cli/main.js"]
CMD ["serve"]
