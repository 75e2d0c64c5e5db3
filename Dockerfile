# The dlcfd image for the research deployments (npm run k8s) and anyone running a node in a
# container: Node 24 (dlcfd is TypeScript run by Node's own type stripping), the production
# dependencies, the built web UI, and the repository's code (research/deploy/ has the oracle's TLS
# proxy and the results collector the Kubernetes manifests run).
#
#   docker build -t dlcfd:0.1.0 .
#   docker run --rm dlcfd:0.1.0 --help          # the entrypoint is bin/dlcfd.js
FROM node:24-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build:ui && npm prune --omit=dev --no-audit --no-fund

FROM node:24-slim
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build --chown=node:node /app /app
# node:24-slim's unprivileged user (uid 1000, as the manifests' securityContext expects).
USER node
ENTRYPOINT ["node", "bin/dlcfd.js"]
CMD ["--help"]
