# One image for both processes: `npm run worker` or `npm run api`.
FROM node:20-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund --ignore-scripts && npm rebuild @swc/core protobufjs esbuild
COPY . .
# patches/ (postgres.js: connections that drop inside a transaction); the install above skipped postinstall
RUN npx patch-package
USER node
