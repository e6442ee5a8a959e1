/**
 * A Dockerfile lint for CI, for machines where hadolint cannot be installed (it is a Haskell binary: not in
 * Debian's archive nor on the npm registry). It checks the essentials this project relies on; each finding
 * names the line and, where one exists, the hadolint rule it stands for.
 *
 * Usage: node scripts/check-dockerfile.ts [Dockerfile]   (exit 1 when there is a finding)
 */
import { readFileSync } from 'node:fs';

/** One Dockerfile instruction after joining `\` continuations; `line` is where it starts (1-based). */
export interface Instruction {
  line: number;
  keyword: string;
  args: string;
}

/** One problem found, with the line it is on (0 for the file as a whole). */
export interface Finding {
  line: number;
  message: string;
}

/** Splits a Dockerfile into instructions: comments and blank lines dropped, continuations joined. */
export function parseDockerfile(text: string): Instruction[] {
  const out: Instruction[] = [];
  let pending: { line: number; text: string } | undefined;
  text.split(/\r?\n/).forEach((raw, i) => {
    const trimmed = raw.trim();
    if (pending === undefined && (trimmed === '' || trimmed.startsWith('#'))) return;
    if (pending !== undefined && trimmed.startsWith('#')) return; // comments inside a continuation
    const joined = pending === undefined ? trimmed : `${pending.text} ${trimmed}`;
    const start = pending?.line ?? i + 1;
    if (joined.endsWith('\\')) {
      pending = { line: start, text: joined.slice(0, -1).trimEnd() };
      return;
    }
    pending = undefined;
    const m = /^(\S+)\s*(.*)$/.exec(joined);
    if (m) out.push({ line: start, keyword: m[1]!.toUpperCase(), args: m[2]! });
  });
  if (pending !== undefined) out.push({ line: pending.line, keyword: 'INVALID', args: pending.text });
  return out;
}

interface Stage {
  from: Instruction;
  image: string;
  name?: string;
  body: Instruction[];
}

function stages(instructions: Instruction[]): Stage[] {
  const result: Stage[] = [];
  for (const ins of instructions) {
    if (ins.keyword === 'FROM') {
      const words = ins.args.split(/\s+/).filter((w) => !w.startsWith('--'));
      const as = words.findIndex((w) => w.toUpperCase() === 'AS');
      result.push({ from: ins, image: words[0] ?? '', name: as >= 0 ? words[as + 1] : undefined, body: [] });
    } else {
      result.at(-1)?.body.push(ins);
    }
  }
  return result;
}

function isExecForm(args: string): boolean {
  try {
    const v: unknown = JSON.parse(args);
    return Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'string');
  } catch {
    return false;
  }
}

/** A base image pinned by digest, or by a tag that starts with a version number (not `latest`). */
function pinnedImage(image: string): boolean {
  if (/@sha256:[a-f0-9]{64}$/.test(image)) return true;
  const tag = /:([^/:]+)$/.exec(image)?.[1];
  return tag !== undefined && /^v?\d/.test(tag);
}

function checkStages(all: Stage[], findings: Finding[]): void {
  const names = new Set<string>();
  for (const stage of all) {
    const ref = stage.image;
    if (!names.has(ref) && ref !== 'scratch' && !pinnedImage(ref)) {
      findings.push({
        line: stage.from.line,
        message: `FROM ${ref}: pin the base image to a version tag (e.g. node:24-bookworm-slim) or a digest (DL3006/DL3007)`,
      });
    }
    if (stage.name) names.add(stage.name);
  }
  if (all.length < 2) {
    findings.push({
      line: 0,
      message: 'not multi-stage: build in one stage, copy only the output into the runtime',
    });
  }
}

function checkRuntime(final: Stage, findings: Finding[]): void {
  const line = final.from.line;
  const users = final.body.filter((i) => i.keyword === 'USER');
  const user = users.at(-1);
  if (!user) {
    findings.push({ line, message: 'final stage has no USER: the container would run as root (DL3002)' });
  } else if (!/^[1-9]\d*(:\d+)?$/.test(user.args.trim())) {
    findings.push({
      line: user.line,
      message: `USER ${user.args}: use a numeric non-root UID (root, 0 or a name defeat runAsNonRoot) (DL3002)`,
    });
  }
  const entry = final.body.filter((i) => i.keyword === 'ENTRYPOINT').at(-1);
  if (!entry) findings.push({ line, message: 'final stage has no ENTRYPOINT' });
  else if (!isExecForm(entry.args)) {
    findings.push({
      line: entry.line,
      message: 'ENTRYPOINT in shell form: /bin/sh becomes PID 1 and SIGTERM never reaches the app (DL3025)',
    });
  }
  for (const cmd of final.body.filter((i) => i.keyword === 'CMD')) {
    if (!isExecForm(cmd.args))
      findings.push({ line: cmd.line, message: 'CMD in shell form: use JSON (DL3025)' });
  }
  if (!final.body.some((i) => i.keyword === 'EXPOSE')) {
    findings.push({ line, message: 'final stage has no EXPOSE for the ports it listens on' });
  }
}

function checkInstructions(instructions: Instruction[], findings: Finding[]): void {
  let omitDev = false;
  for (const ins of instructions) {
    const { line, keyword, args } = ins;
    if (keyword === 'INVALID') findings.push({ line, message: 'file ends inside a `\\` continuation' });
    if (keyword === 'ADD') {
      findings.push({
        line,
        message: /\b(https?|ftp|git):\/\/|git@/.test(args)
          ? 'ADD of a URL: download in a RUN step with a checksum, or COPY from a build stage'
          : 'ADD: use COPY for files and folders (DL3020)',
      });
    }
    if (keyword === 'WORKDIR' && !args.startsWith('/') && !args.startsWith('$')) {
      findings.push({ line, message: `WORKDIR ${args}: use an absolute path (DL3000)` });
    }
    if (keyword === 'MAINTAINER')
      findings.push({ line, message: 'MAINTAINER is deprecated: use a LABEL (DL4000)' });
    if (keyword !== 'RUN') continue;
    if (/\bsudo\b/.test(args))
      findings.push({ line, message: 'RUN sudo: not needed, the build runs as root (DL3004)' });
    if (/\bnpm (install|i)\b/.test(args)) {
      findings.push({ line, message: 'npm install: use npm ci, which installs exactly package-lock.json' });
    }
    if (/\bapt-get install\b/.test(args) && !/--no-install-recommends/.test(args)) {
      findings.push({ line, message: 'apt-get install without --no-install-recommends (DL3015)' });
    }
    if (/\bnpm (ci|prune)\b[^;&|]*--omit[= ]dev\b/.test(args)) omitDev = true;
  }
  if (!omitDev) {
    findings.push({
      line: 0,
      message: 'no `npm ci --omit=dev` (or npm prune --omit=dev): dev dependencies would ship',
    });
  }
}

/** Every finding for a Dockerfile's text, in line order; empty when it passes. */
export function checkDockerfile(text: string): Finding[] {
  const findings: Finding[] = [];
  const instructions = parseDockerfile(text);
  const all = stages(instructions);
  if (all.length === 0) return [{ line: 0, message: 'no FROM instruction' }];
  checkStages(all, findings);
  checkRuntime(all.at(-1)!, findings);
  checkInstructions(instructions, findings);
  return findings.sort((a, b) => a.line - b.line);
}

if (import.meta.main) {
  const file = process.argv[2] ?? 'Dockerfile';
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    console.error(`${file}: cannot read: ${(err as Error).message}`);
    process.exit(2);
  }
  const findings = checkDockerfile(text);
  for (const f of findings) console.error(`${file}:${f.line}: ${f.message}`);
  if (findings.length > 0) process.exit(1);
  console.log(`${file}: ok`);
}
