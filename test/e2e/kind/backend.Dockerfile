# The e2e framework's test backend (HTTP, WebSocket echo, socket.io), as an image for the kind sample.
FROM node:24-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json ./
# socket.io and ws are devDependencies of the project: install the full lockfile (scripts off; the base
# image's Node 24 runs backend.ts natively).
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY test/e2e/framework/backend.ts ./backend.ts
USER 10001:10001
EXPOSE 3000
ENTRYPOINT ["node", "backend.ts", "--host", "0.0.0.0", "--port", "3000"]
