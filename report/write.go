package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// Files written into a report directory.
const (
	JSONFile  = "report.json"
	HTMLFile  = "report.html"
	CSVPrefix = "report" // report_stats.csv, report_failures.csv, …
)

// WriteDir writes report.json, report.html and the Locust-format CSVs into
// dir (created if missing) and returns their paths, report.html first.
func WriteDir(dir string, r Report) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("report directory: %w", err)
	}
	var page bytes.Buffer
	if err := WriteHTML(&page, r); err != nil {
		return nil, fmt.Errorf("rendering the report: %w", err)
	}
	htmlPath := filepath.Join(dir, HTMLFile)
	if err := os.WriteFile(htmlPath, page.Bytes(), 0o644); err != nil {
		return nil, err
	}
	data, err := json.MarshalIndent(r, "", " ")
	if err != nil {
		return nil, err
	}
	jsonPath := filepath.Join(dir, JSONFile)
	if err := os.WriteFile(jsonPath, append(data, '\n'), 0o644); err != nil {
		return nil, err
	}
	csvs, err := WriteCSV(filepath.Join(dir, CSVPrefix), r)
	return append([]string{htmlPath, jsonPath}, csvs...), err
}
