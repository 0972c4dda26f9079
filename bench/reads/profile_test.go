package reads

import (
	"os"
	"testing"
	"time"
)

// BenchmarkReadsKlayslaveOnly runs only klayslave's side, for a profile:
//
//	go test ./bench/reads -run='^$' -bench=KlayslaveOnly -benchtime=1x -cpuprofile=/tmp/reads.prof
func BenchmarkReadsKlayslaveOnly(b *testing.B) {
	srv := sink()
	defer srv.Close()
	name := os.Getenv("READS_CASE")
	if name == "" {
		name = "rpcPing"
	}
	for range b.N {
		b.ReportMetric(klayslave(b, name, srv.URL, envInt("READS_USERS", 32), time.Duration(envInt("READS_SECONDS", 3))*time.Second).rate, "req/s")
	}
}

// BenchmarkReadsPlainOnly runs only the plain loop, for a profile.
func BenchmarkReadsPlainOnly(b *testing.B) {
	srv := sink()
	defer srv.Close()
	for range b.N {
		b.ReportMetric(plainLoop(srv.URL, envInt("READS_USERS", 32), time.Duration(envInt("READS_SECONDS", 3))*time.Second).rate, "req/s")
	}
}
