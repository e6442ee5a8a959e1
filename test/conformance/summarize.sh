#!/usr/bin/env bash
# Per-test results from a conformance run's `go test -v` log (run.sh writes it next to the report): one
# "RESULT Test" line per top-level test of the suite, in run order. Go's own "--- PASS/FAIL/SKIP" lines win;
# a run stopped early has none (and no report YAML), so then: SKIP (the suite's "Skipping" line), FAIL (an
# assertion failure logged under the test), PASS (a sequential test the next test started after, nothing
# failed), NO-RESULT (a parallel test, or the one running when the log ends).
set -euo pipefail
awk '
  function top(s) { s = substr(s, 17); sub(/\/.*/, "", s); return s }
  /^=== (RUN|CONT|NAME)   TestConformance\// {
    t = top($3)
    if ($2 == "RUN" && $3 !~ /TestConformance\/[^\/]+\// ) {
      if (seq != "" && seq != t) done[seq] = 1
      order[++n] = t; seq = t
    }
    cur = t; next
  }
  /^=== PAUSE TestConformance\/[^\/]+$/ { if (seq == top($3)) seq = ""; next }
  /Skipping / && cur != "" { skipped[cur] = 1 }
  /Error Trace:/ && cur != "" { failed[cur] = 1 }
  /^ +--- (PASS|FAIL|SKIP): TestConformance\/[^\/]+ / { final[substr($3, 17)] = substr($2, 1, 4) }
  END {
    for (i = 1; i <= n; i++) {
      t = order[i]
      r = (t in final) ? final[t] : skipped[t] ? "SKIP" : failed[t] ? "FAIL" : done[t] ? "PASS" : "NO-RESULT"
      print r, t
    }
  }
' "${1:?usage: summarize.sh REPORT.log}"
