import type { Mismatch } from './scenarioExpect.js';
import type { FileResult, ScenarioResult, TurnResult } from './scenarioRun.js';

/** `speech.contains: expected "120 points", got "You have 100 points."` */
export function mismatchLine(m: Mismatch): string {
  return `${m.expectation}: expected ${m.expected}, got ${m.got}`;
}

/** Why a scenario failed, in one line per problem, each naming the turn (the JUnit failure message too). */
export function failureLines(s: ScenarioResult): string[] {
  if (s.error !== undefined) return [s.error];
  return s.turns.flatMap((t) =>
    t.result !== 'fail' ? [] : t.error !== undefined ? [`turn ${t.number} (${t.label}): ${t.error}`] : t.mismatches.map((m) => `turn ${t.number} (${t.label}): ${mismatchLine(m)}`),
  );
}

const MARKS: Record<TurnResult['result'], string> = { pass: '✓', fail: '✗', skipped: '-' };

/** The readable report: per file, per scenario, per turn; a failing turn with each expectation, expected vs got. */
export function renderReport(files: readonly FileResult[]): string[] {
  const lines: string[] = [];
  for (const f of files) {
    lines.push(f.file);
    for (const s of f.scenarios) {
      lines.push(`  ${s.passed ? '✓' : '✗'} ${s.name} (${s.extension}${s.user === undefined ? '' : `, ${s.testUser ? 'test user' : 'user'} ${s.user}`})`);
      if (s.error !== undefined) lines.push(`      ${s.error}`);
      for (const t of s.turns) {
        lines.push(`      ${MARKS[t.result]} turn ${t.number}: ${t.label}${t.result === 'skipped' ? ' (skipped)' : ''}`);
        if (t.error !== undefined) lines.push(`          ${t.error}`);
        for (const m of t.mismatches) lines.push(`          ${mismatchLine(m)}`);
      }
    }
    lines.push('');
  }
  const all = files.flatMap((f) => f.scenarios);
  const failed = all.filter((s) => !s.passed).length;
  const turns = all.reduce((n, s) => n + s.turns.length, 0);
  lines.push(`${all.length} scenario${all.length === 1 ? '' : 's'} (${turns} turn${turns === 1 ? '' : 's'}): ${all.length - failed} passed, ${failed} failed`);
  return lines;
}
