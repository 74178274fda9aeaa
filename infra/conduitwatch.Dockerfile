# The conduitwatch image for docker-compose.yml: Node 20 on Debian bookworm, the locked npm packages,
# the source (tsx runs it). Build from the repository root: docker build -f infra/conduitwatch.Dockerfile .
FROM node:20.19.5-bookworm-slim
WORKDIR /opt/conduitwatch
COPY package.json package-lock.json ./
RUN npm install --omit=dev --no-save --no-audit --no-fund --loglevel=error
COPY . .
RUN mkdir -p /var/lib/conduitwatch && chown node:node /var/lib/conduitwatch
USER node
ENV NODE_ENV=production CONDUITWATCH_LOG=info TZ=UTC
ENTRYPOINT ["node", "bin/conduitwatch.mjs"]
CMD ["--help"]
