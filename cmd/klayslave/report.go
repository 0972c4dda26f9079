package main

import (
	"flag"
	"fmt"
	"io"
	"strconv"

	"github.com/klayslave/klayslave/report"
)

// reportConfig is what report.json says of the run's flags: every flag's
// value, but no key.
func reportConfig(fs *flag.FlagSet, command string, o *options) map[string]string {
	cfg := map[string]string{"command": command}
	fs.VisitAll(func(f *flag.Flag) {
		if f.Name != "mcKey" && f.Name != "scKey" { // keys never reach a file
			cfg[f.Name] = f.Value.String()
		}
	})
	cfg["master-port"] = strconv.Itoa(o.masterPort) // a Func flag: its Value says nothing
	return cfg
}

// writeReport writes -report-dir's files, after the drain, with the final
// statistics, and names them on w.
func (s *session) writeReport(w io.Writer) error {
	if s.report == nil {
		return nil
	}
	s.stopSampling()
	rep, err := s.report.Report(s.reportConfig)
	if err != nil {
		return err
	}
	paths, err := report.WriteDir(s.o.reportDir, rep)
	if err != nil {
		return fmt.Errorf("writing the report into -report-dir %s: %w", s.o.reportDir, err)
	}
	fmt.Fprintf(w, "Report: %s (%s and Locust-format CSVs beside it)\n", paths[0], report.JSONFile)
	return nil
}
