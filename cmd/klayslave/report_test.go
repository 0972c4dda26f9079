package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/klayslave/klayslave/report"
)

// A standalone run with -report-dir writes the report, whose totals are
// the final summary's, and whose files hold no key; two of them merge.
func TestStandaloneReportDirAndMerge(t *testing.T) {
	const secret = "74d94a471b8c88eab6f8cd4322047cd4bccd54dc93b861d2509d158a026eeec7"
	var dirs []string
	var want int64
	for i := 0; i < 2; i++ {
		dir := filepath.Join(t.TempDir(), "report")
		code, out, errs := runArgs("run", "-tc=noop", "-users", "2", "-run-time", "1s", "-max-rps", "50",
			"-report-interval", "10s", "-report-dir", dir, "-mcKey="+secret)
		if code != 0 {
			t.Fatalf("exit code %d: %s %s", code, out, errs)
		}
		if !strings.Contains(out, "Report: "+filepath.Join(dir, "report.html")) {
			t.Errorf("the output does not name the report:\n%s", out)
		}
		m := regexp.MustCompile(`(?m)^Aggregated\s+(\d+)\s+(\d+) \|`).FindStringSubmatch(out[strings.Index(out, "Final summary:"):])
		reqs, _ := strconv.ParseInt(m[1], 10, 64)
		rep, err := report.Read(filepath.Join(dir, "report.json"))
		if err != nil {
			t.Fatal(err)
		}
		if rep.Total.Requests != reqs || rep.Total.Failures != 0 || reqs == 0 {
			t.Errorf("report total %d/%d, summary %s/%s", rep.Total.Requests, rep.Total.Failures, m[1], m[2])
		}
		if rep.Config["tc"] != "noop" || rep.Config["report-dir"] != dir {
			t.Errorf("config %v", rep.Config)
		}
		files, _ := os.ReadDir(dir)
		for _, f := range files {
			b, _ := os.ReadFile(filepath.Join(dir, f.Name()))
			if strings.Contains(string(b), secret) || strings.Contains(f.Name(), secret) {
				t.Errorf("%s holds the key", f.Name())
			}
		}
		dirs = append(dirs, filepath.Join(dir, "report.json"))
		want += reqs
	}
	out := filepath.Join(t.TempDir(), "merged")
	// Flags after the files work too.
	code, stdout, stderr := runArgs("report", "merge", dirs[0], dirs[1], "-o", out)
	if code != 0 {
		t.Fatalf("merge: exit code %d: %s", code, stderr)
	}
	m, err := report.Read(filepath.Join(out, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	if m.Workers != 2 || m.Total.Requests != want {
		t.Errorf("merged %d workers, %d requests; want 2, %d", m.Workers, m.Total.Requests, want)
	}
	if !strings.Contains(stdout, "Report: "+filepath.Join(out, "report.html")) {
		t.Errorf("merge output: %s", stdout)
	}
	if code, _, stderr := runArgs("run", "-tc=noop", "-report-dir", "/proc/nonexistent/x"); code != 2 || !strings.Contains(stderr, "-report-dir /proc/nonexistent/x") {
		t.Errorf("an unwritable -report-dir: exit code %d, %q", code, stderr)
	}
	for _, bad := range [][]string{{"report"}, {"report", "merge", dirs[0]}, {"report", "merge", "-o", out}, {"report", "merge", "-o", out, "/nonexistent.json"}} {
		if code, _, stderr := runArgs(bad...); code != 2 || strings.Count(stderr, "\n") != 1 {
			t.Errorf("%v: exit code %d, stderr %q; want 2 and one line", bad, code, stderr)
		}
	}
}
