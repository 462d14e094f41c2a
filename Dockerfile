# syntax=docker/dockerfile:1
# One image for cairn-node, cairn-gateway, cairn-operator and the cairn CLI; the first
# argument picks the program (docker/entrypoint.sh), with tini as PID 1 so that signals
# reach it and zombies are reaped.
#
#   docker build -t cairn:0.1.0 .
#   docker run --rm cairn:0.1.0 cairn --help

FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci
COPY . .
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
RUN apt-get update \
  && apt-get install -y --no-install-recommends tini \
  && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/bin ./bin
COPY docker/entrypoint.sh /usr/local/bin/cairn-entrypoint
ENV NODE_ENV=production
# The base image's `node` user (uid 1000), as the operator's pod security contexts expect.
USER 1000:1000
EXPOSE 26258 5432 8080
ENTRYPOINT ["/usr/bin/tini", "--", "/usr/local/bin/cairn-entrypoint"]
CMD ["cairn", "--help"]
