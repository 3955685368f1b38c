import { InvalidArgumentError } from 'commander';

const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;

/**
 * A duration as operators write it: `90s`, `15m`, `24h`, `7d`, `2w`, or a combination (`1h30m`). Positive only: a
 * zero grace is what the commands do without the option.
 */
export function parseDuration(text: string): number {
  const trimmed = text.trim();
  const parts = [...trimmed.matchAll(/(\d+)([smhdw])/g)];
  if (trimmed === '' || parts.map((p) => p[0]).join('') !== trimmed)
    throw new InvalidArgumentError(`"${text}" is not a duration (e.g. 90s, 15m, 24h, 7d, 2w, 1h30m)`);
  const ms = parts.reduce((sum, [, n, unit]) => sum + Number(n) * UNIT_MS[unit as keyof typeof UNIT_MS], 0);
  if (ms <= 0) throw new InvalidArgumentError(`"${text}" must be longer than 0`);
  return ms;
}

/** Commander's argument parser for a duration option (the value is milliseconds). */
export const durationOption = (value: string): number => parseDuration(value);

/** `3600000` → `1h`, `5400000` → `1h30m`: how durations are printed back. */
export function formatDuration(ms: number): string {
  let rest = Math.round(ms / 1_000);
  const out: string[] = [];
  for (const [unit, size] of [
    ['d', 86_400],
    ['h', 3_600],
    ['m', 60],
    ['s', 1],
  ] as const) {
    if (rest >= size) {
      out.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
  }
  return out.join('') || '0s';
}
