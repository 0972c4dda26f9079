package report

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// sampleDir writes the report of a synthetic minute-long run into a new
// directory and returns the directory and the report.
func sampleDir(t *testing.T) (string, Report) {
	t.Helper()
	c := &clock{t: t0}
	rec := New(Config{Now: c.now})
	load(rec, rec.Block, 1, c)
	rep, err := rec.Report(map[string]string{"tc": "mcValueTransferTc", "max-rps": "20"})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if _, err := WriteDir(dir, rep); err != nil {
		t.Fatal(err)
	}
	return dir, rep
}

func TestJSONRoundTrip(t *testing.T) {
	dir, rep := sampleDir(t)
	got, err := Read(filepath.Join(dir, JSONFile))
	if err != nil {
		t.Fatal(err)
	}
	if got.Total.Requests != rep.Total.Requests || len(got.Seconds) != len(rep.Seconds) || len(got.Blocks) != len(rep.Blocks) {
		t.Errorf("read back %d requests, %d seconds, %d blocks; wrote %d, %d, %d", got.Total.Requests, len(got.Seconds),
			len(got.Blocks), rep.Total.Requests, len(rep.Seconds), len(rep.Blocks))
	}
	again, err := Merge(got)
	if err != nil || !bytes.Equal(mustJSON(t, again.Total), mustJSON(t, rep.Total)) {
		t.Errorf("a report read back does not merge to itself: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "other.json"), []byte(`{"format":"x"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Read(filepath.Join(dir, "other.json")); err == nil || !strings.Contains(err.Error(), "not a klayslave report") {
		t.Errorf("reading another JSON file: %v", err)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// python returns a python3 that imports locust (Debian's python3-locust
// installs into /usr/bin/python3, which a pyenv shim may hide).
func python(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"/usr/bin/python3", "python3"} {
		if exec.Command(p, "-c", "import locust.stats").Run() == nil {
			return p
		}
	}
	if os.Getenv("KLAYSLAVE_REQUIRE_LOCUST") != "" {
		t.Fatal("no python3 imports locust (apt-get install -y python3-locust)")
	}
	t.Skip("no python3 imports locust; apt-get install -y python3-locust to run this test")
	return ""
}

// The CSVs load with Python's csv module and have exactly the headers that
// Locust 2.12.1's own StatsCSVFileWriter writes.
const csvCheck = `
import csv, json, os, sys, tempfile
from locust.stats import StatsCSVFileWriter, PERCENTILES_TO_REPORT
w = StatsCSVFileWriter(None, PERCENTILES_TO_REPORT, os.path.join(tempfile.mkdtemp(), "x"))
want = {"_stats.csv": w.requests_csv_columns, "_failures.csv": w.failures_columns,
        "_stats_history.csv": w.stats_history_csv_columns, "_exceptions.csv": w.exceptions_columns}
out = {}
for suffix, header in want.items():
    with open(sys.argv[1] + suffix, newline="") as f:
        rows = list(csv.reader(f))
    if rows[0] != header:
        sys.exit("%s header %r, Locust writes %r" % (suffix, rows[0], header))
    for r in rows[1:]:
        if len(r) != len(header):
            sys.exit("%s row %r has %d fields, header %d" % (suffix, r, len(r), len(header)))
    out[suffix] = [dict(zip(header, r)) for r in rows[1:]]
json.dump(out, sys.stdout)
`

func TestCSVLoadsWithLocustHeaders(t *testing.T) {
	py := python(t)
	dir, rep := sampleDir(t)
	out, err := exec.Command(py, "-c", csvCheck, filepath.Join(dir, CSVPrefix)).Output()
	if err != nil {
		t.Fatalf("%v: %s", err, exitText(err))
	}
	var files map[string][]map[string]string
	if err := json.Unmarshal(out, &files); err != nil {
		t.Fatal(err)
	}
	stats := files["_stats.csv"]
	if len(stats) != len(rep.Rows)+1 {
		t.Fatalf("%d stats rows, want %d", len(stats), len(rep.Rows)+1)
	}
	agg := stats[len(stats)-1]
	if agg["Name"] != "Aggregated" || agg["Type"] != "" || agg["Request Count"] != strconv.FormatInt(rep.Total.Requests, 10) ||
		agg["Failure Count"] != strconv.FormatInt(rep.Total.Failures, 10) {
		t.Errorf("Aggregated row %v, report total %d/%d", agg, rep.Total.Requests, rep.Total.Failures)
	}
	for _, num := range []string{"Average Response Time", "Requests/s", "99.9%", "Average Content Size"} {
		if _, err := strconv.ParseFloat(agg[num], 64); err != nil {
			t.Errorf("%s = %q: not a number", num, agg[num])
		}
	}
	if n := len(files["_failures.csv"]); n != len(rep.Errors) {
		t.Errorf("%d failure rows, want %d", n, len(rep.Errors))
	}
	hist := files["_stats_history.csv"]
	if len(hist) < 60 {
		t.Fatalf("%d history rows for a minute", len(hist))
	}
	if last := hist[len(hist)-1]; last["Total Request Count"] != agg["Request Count"] {
		t.Errorf("history ends at %s requests, stats say %s", last["Total Request Count"], agg["Request Count"])
	}
}

func exitText(err error) string {
	if ee, ok := err.(*exec.ExitError); ok {
		return string(ee.Stderr)
	}
	return ""
}

// chromium returns Debian's chromium, failing under
// KLAYSLAVE_REQUIRE_CHROMIUM (make test) when it is missing.
func chromium(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"chromium", "chromium-browser"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	if os.Getenv("KLAYSLAVE_REQUIRE_CHROMIUM") != "" {
		t.Fatal("chromium is not installed (apt-get install -y chromium)")
	}
	t.Skip("chromium is not installed; apt-get install -y chromium to run this test")
	return ""
}

// headless runs chromium on a local file with the network off: every
// request goes to a proxy that does not exist, and the page's own CSP
// allows nothing but inline code.
func headless(t *testing.T, bin, page string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	all := append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
		"--user-data-dir=" + t.TempDir(), "--proxy-server=127.0.0.1:9", "--proxy-bypass-list=<-loopback>",
		"--virtual-time-budget=5000", "--window-size=1280,2600", "--hide-scrollbars"}, args...)
	cmd := exec.CommandContext(ctx, bin, append(all, "file://"+page)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium %v: %v\n%s", args, err, stderr.String())
	}
	return stdout.String()
}

var statusRE = regexp.MustCompile(`<span id="status" data-charts="(\d+)" data-drawn="(\d+)" data-errors="(\d+)">([^<]*)</span>`)

// pageStatus opens the page and returns what its own check found.
func pageStatus(t *testing.T, bin, page string) (charts, drawn, errs int, text string) {
	t.Helper()
	dom := headless(t, bin, page, "--dump-dom")
	m := statusRE.FindStringSubmatch(dom)
	if m == nil {
		t.Fatalf("the page did not finish its check; status: %s", regexp.MustCompile(`<span id="status".*?</span>`).FindString(dom))
	}
	a, _ := strconv.Atoi(m[1])
	b, _ := strconv.Atoi(m[2])
	c, _ := strconv.Atoi(m[3])
	return a, b, c, m[4]
}

// report.html, opened offline in headless Chromium, draws every chart
// (pixels of each chart's first series on its canvas) with no error on
// the console; the screenshot is kept.
func TestHTMLDrawsOfflineInChromium(t *testing.T) {
	bin := chromium(t)
	dir, _ := sampleDir(t)
	page := filepath.Join(dir, HTMLFile)
	html, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	if ext := regexp.MustCompile(`(?i)(src|href)\s*=\s*["']?(https?:)?//`).Find(html); ext != nil {
		t.Errorf("the page loads %s from the network", ext)
	}
	charts, drawn, errs, text := pageStatus(t, bin, page)
	t.Logf("page check: %s", text)
	if charts != 4 || drawn != charts || errs != 0 {
		t.Errorf("%d charts, %d drawn, %d errors; want 4 (rate, latency, histogram, blocks), all drawn, none: %s", charts, drawn, errs, text)
	}

	shots := os.Getenv("KLAYSLAVE_ARTIFACTS")
	if shots == "" {
		shots = filepath.Join(os.TempDir(), "klayslave-artifacts")
	}
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	shot := filepath.Join(shots, "report-screenshot.png")
	headless(t, bin, page, "--screenshot="+shot)
	if fi, err := os.Stat(shot); err != nil || fi.Size() < 10000 {
		t.Fatalf("screenshot %s: %v", shot, err)
	}
	t.Logf("screenshot kept at %s", shot)
}

// The page's check is no rubber stamp: a page that reaches for the network
// reports the blocked request as an error.
func TestHTMLCheckSeesNetworkUse(t *testing.T) {
	bin := chromium(t)
	dir, _ := sampleDir(t)
	page := filepath.Join(dir, HTMLFile)
	html, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	html = bytes.Replace(html, []byte("<h1>"), []byte(`<img src="http://example.com/x.png"><h1>`), 1)
	if err := os.WriteFile(page, html, 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, errs, text := pageStatus(t, bin, page)
	if errs == 0 || !strings.Contains(text, "blocked") {
		t.Errorf("an image from the network went unnoticed: %s", text)
	}
}

// A run with no chain (rpcPing, noop) has no blocks: its page draws the
// other three charts and says why the fourth is missing.
func TestHTMLWithoutChainsInChromium(t *testing.T) {
	bin := chromium(t)
	c := &clock{t: t0}
	rec := New(Config{Now: c.now})
	load(rec, nil, 3, c)
	rep, err := rec.Report(nil)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if _, err := WriteDir(dir, rep); err != nil {
		t.Fatal(err)
	}
	page := filepath.Join(dir, HTMLFile)
	charts, drawn, errs, text := pageStatus(t, bin, page)
	if charts != 3 || drawn != 3 || errs != 0 {
		t.Errorf("%d charts, %d drawn, %d errors; want 3, 3, 0: %s", charts, drawn, errs, text)
	}
	html, _ := os.ReadFile(page)
	if !strings.Contains(string(html), "Not drawn: transactions per block: no chain scanned") {
		t.Error("the page does not say why there is no blocks chart")
	}
}
