// Prints "N passed, N failed" from vitest's JSON report. A missing report (lint,
// typecheck or startup failed before tests ran) counts as one failure.
import { existsSync, readFileSync } from 'node:fs';

const [, , reportPath, exitStatus] = process.argv;
let passed = 0;
let failed = 0;
if (reportPath && existsSync(reportPath)) {
  const report = JSON.parse(readFileSync(reportPath, 'utf8'));
  passed = report.numPassedTests ?? 0;
  failed = report.numFailedTests ?? 0;
  // A suite that fails to load has no failed tests but fails the run.
  const brokenSuites = (report.testResults ?? []).filter(
    (suite) => suite.status === 'failed' && (suite.assertionResults ?? []).length === 0,
  ).length;
  failed += brokenSuites;
  if (report.success === false && failed === 0) failed = 1;
} else {
  console.log('no test report was written (lint, typecheck or test startup failed)');
  failed = 1;
}
if (Number(exitStatus) !== 0 && failed === 0) failed = 1;
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 && Number(exitStatus) === 0 ? 0 : 1);
