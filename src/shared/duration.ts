/**
 * The one duration format of sticky-ingress (flags, env, StickyRoute fields): an integer followed by ms, s, m
 * or h, e.g. `500ms`, `5s`, `2m`, `1h`. Pure; both the CLI's and the CRD's zod schemas are built on it.
 */

/** What a duration looks like; schemas validate with it before calling `durationMs`. */
export const DURATION_PATTERN = /^\d+(ms|s|m|h)$/;

/** The message schemas give for a value that does not match DURATION_PATTERN. */
export const DURATION_HINT = 'a duration like 500ms, 5s, 2m or 1h';

import { InvalidDurationError } from './errors.ts';

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;

/** 5000 -> `5s`: the largest unit that divides `ms` exactly (the inverse of durationMs for help texts). */
export function formatDuration(ms: number): string {
  for (const unit of ['h', 'm', 's'] as const) {
    if (ms % UNIT_MS[unit] === 0) return `${ms / UNIT_MS[unit]}${unit}`;
  }
  return `${ms}ms`;
}

/** `5s` -> 5000. Throws InvalidDurationError for text that does not match DURATION_PATTERN. */
export function durationMs(text: string): number {
  const match = DURATION_PATTERN.exec(text);
  if (!match) throw new InvalidDurationError(`not a duration: ${JSON.stringify(text)} (${DURATION_HINT})`);
  return Number.parseInt(text, 10) * UNIT_MS[match[1] as keyof typeof UNIT_MS];
}
