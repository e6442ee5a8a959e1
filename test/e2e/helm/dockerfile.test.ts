import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { promisify } from 'node:util';
import { checkDockerfile } from '../../../scripts/check-dockerfile.ts';

const run = promisify(execFile);
const root = new URL('../../../', import.meta.url).pathname;
const script = join(root, 'scripts/check-dockerfile.sh');

const good = `FROM node:24-bookworm-slim AS build
WORKDIR /src
RUN npm ci && npm run build
FROM node:24-bookworm-slim
WORKDIR /app
RUN npm ci --omit=dev
COPY --from=build /src/dist ./dist
USER 10001:10001
EXPOSE 8080
ENTRYPOINT ["node", "dist/cmd/sticky-ingress.js"]
`;

/** Each case breaks the good file in one way and names the finding it must produce. */
const cases: { name: string; edit: (s: string) => string; expect: RegExp }[] = [
  {
    name: 'single stage',
    edit: (s) => s.replace(/^FROM node:24-bookworm-slim AS build\nWORKDIR \/src\nRUN .*\n/, ''),
    expect: /not multi-stage/,
  },
  {
    name: 'root user',
    edit: (s) => s.replace('USER 10001:10001', 'USER root'),
    expect: /numeric non-root UID/,
  },
  { name: 'uid 0', edit: (s) => s.replace('USER 10001:10001', 'USER 0'), expect: /numeric non-root UID/ },
  { name: 'no USER', edit: (s) => s.replace('USER 10001:10001\n', ''), expect: /no USER/ },
  {
    name: 'shell-form ENTRYPOINT',
    edit: (s) => s.replace(/ENTRYPOINT .*/, 'ENTRYPOINT node dist/cmd/sticky-ingress.js'),
    expect: /shell form/,
  },
  {
    name: 'latest base image',
    edit: (s) => s.replace('FROM node:24-bookworm-slim\n', 'FROM node:latest\n'),
    expect: /pin the base image/,
  },
  {
    name: 'untagged base image',
    edit: (s) => s.replace('FROM node:24-bookworm-slim AS', 'FROM node AS'),
    expect: /pin/,
  },
  {
    name: 'ADD of a URL',
    edit: (s) => s.replace('WORKDIR /app', 'WORKDIR /app\nADD https://example.com/x.tgz /tmp/'),
    expect: /ADD of a URL/,
  },
  { name: 'dev dependencies shipped', edit: (s) => s.replace(' --omit=dev', ''), expect: /--omit=dev/ },
  {
    name: 'npm install',
    edit: (s) => s.replace('npm ci --omit=dev', 'npm install --omit=dev'),
    expect: /use npm ci/,
  },
  { name: 'no EXPOSE', edit: (s) => s.replace('EXPOSE 8080\n', ''), expect: /no EXPOSE/ },
  {
    name: 'relative WORKDIR',
    edit: (s) => s.replace('WORKDIR /app', 'WORKDIR app'),
    expect: /absolute path/,
  },
];

describe('scripts/check-dockerfile', () => {
  test('the sample passes, and continuation lines are joined', () => {
    assert.deepEqual(checkDockerfile(good), []);
    const continued = good.replace(
      'RUN npm ci --omit=dev',
      'RUN npm ci \\\n  # production only\n  --omit=dev',
    );
    assert.deepEqual(checkDockerfile(continued), []);
  });

  for (const c of cases) {
    test(`rejects: ${c.name}`, () => {
      const text = c.edit(good);
      assert.notEqual(text, good, 'the case must change the sample');
      const messages = checkDockerfile(text).map((f) => f.message);
      assert.ok(
        messages.some((m) => c.expect.test(m)),
        `expected ${c.expect}, got ${JSON.stringify(messages)}`,
      );
    });
  }

  test("the repository's Dockerfile passes the CLI (exit 0)", async () => {
    const { stdout } = await run('bash', [script], { cwd: root });
    assert.match(stdout, /Dockerfile: ok/);
  });

  test('the CLI exits 1 on a bad Dockerfile and names the line', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dockerfile-'));
    try {
      const file = join(dir, 'Dockerfile');
      await writeFile(file, 'FROM node:latest\nRUN npm install\nCMD node server.js\n');
      const err = await run('bash', [script, file], { cwd: root }).then(
        () => assert.fail('check-dockerfile.sh accepted a bad Dockerfile'),
        (e: { code: number; stderr: string }) => e,
      );
      assert.equal(err.code, 1);
      assert.match(err.stderr, /Dockerfile:1: FROM node:latest: pin the base image/);
      assert.match(err.stderr, /Dockerfile:2: npm install: use npm ci/);
      assert.match(err.stderr, /not multi-stage/);
      assert.match(err.stderr, /no USER/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
