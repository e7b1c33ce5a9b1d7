import { failureLines } from './scenarioReport.js';
import type { FileResult } from './scenarioRun.js';

/** XML 1.0 forbids most control characters even as references: they are dropped. */
// eslint-disable-next-line no-control-regex
const NOT_XML = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g;

function xml(text: string): string {
  return text.replace(NOT_XML, '').replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

const seconds = (s: number): string => s.toFixed(3);

/**
 * JUnit XML as CI systems read it (the Ant/Surefire shape: `testsuites` > `testsuite` per file >
 * `testcase` per scenario > `failure`), so GitHub Actions, GitLab and Jenkins show each scenario.
 * The failure's message is its first problem (turn, expectation, expected vs got); the body has all.
 */
export function junitXml(files: readonly FileResult[], at: Date = new Date()): string {
  const all = files.flatMap((f) => f.scenarios);
  const failures = (list: typeof all) => list.filter((s) => !s.passed).length;
  const total = files.reduce((n, f) => n + f.seconds, 0);
  const out = ['<?xml version="1.0" encoding="UTF-8"?>', `<testsuites name="cek-gateway test" tests="${all.length}" failures="${failures(all)}" errors="0" time="${seconds(total)}">`];
  for (const f of files) {
    out.push(
      `  <testsuite name="${xml(f.file)}" tests="${f.scenarios.length}" failures="${failures(f.scenarios)}" errors="0" skipped="0" time="${seconds(f.seconds)}" timestamp="${at.toISOString().replace(/\.\d{3}Z$/, '')}">`,
    );
    for (const s of f.scenarios) {
      const open = `    <testcase name="${xml(s.name)}" classname="${xml(f.file)}" time="${seconds(s.seconds)}"`;
      if (s.passed) {
        out.push(`${open}/>`);
        continue;
      }
      const problems = failureLines(s);
      out.push(`${open}>`, `      <failure message="${xml(problems[0] ?? 'failed')}" type="expectation">${xml(problems.join('\n'))}</failure>`, '    </testcase>');
    }
    out.push('  </testsuite>');
  }
  out.push('</testsuites>', '');
  return out.join('\n');
}
