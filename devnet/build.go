package main

import (
	"bytes"
	"context"
	_ "embed"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

const (
	kaiaVersion = "v1.0.3"
	kaiaModule  = "github.com/kaiachain/kaia"
	thisModule  = "github.com/klayslave/klayslave/devnet"
)

// The devnet module's go.mod/go.sum pin kaia and blst v0.3.16 (v0.3.11 does
// not compile on Go 1.26). They are embedded so that a built devnet binary
// can still build the node binaries when run outside the source tree.
var (
	//go:embed go.mod
	embeddedGoMod []byte
	//go:embed go.sum
	embeddedGoSum []byte
)

// binaryNames lists the Kaia commands the devnet needs, in build order.
func binaryNames() []string { return []string{"kcn", "ken", "kscn", "homi"} }

// defaultBinDir is $KLAYSLAVE_KAIA_BIN, or a cache directory keyed by the
// Kaia version and the Go version that builds the binaries.
func defaultBinDir() string {
	if d := os.Getenv("KLAYSLAVE_KAIA_BIN"); d != "" {
		return d
	}
	base := filepath.Join(os.TempDir(), ".cache")
	if home, err := os.UserHomeDir(); err == nil {
		base = filepath.Join(home, ".cache")
	}
	return filepath.Join(base, "klayslave", "kaia-"+kaiaVersion+"-"+goVersion(), "bin")
}

// goVersion is `go env GOVERSION` (the toolchain that builds the nodes),
// falling back to the version this program was built with.
func goVersion() string {
	out, err := exec.Command("go", "env", "GOVERSION").Output()
	if v := strings.TrimSpace(string(out)); err == nil && v != "" {
		return v
	}
	return runtime.Version()
}

func missingBinaries(binDir string) []string {
	var missing []string
	for _, name := range binaryNames() {
		if fi, err := os.Stat(filepath.Join(binDir, name)); err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
			missing = append(missing, name)
		}
	}
	return missing
}

// ensureBinaries builds the missing node binaries into binDir.
func ensureBinaries(ctx context.Context, binDir string, out io.Writer) error {
	missing := missingBinaries(binDir)
	if len(missing) == 0 {
		fmt.Fprintf(out, "binaries: %s (cached)\n", binDir)
		return nil
	}
	if _, err := exec.LookPath("go"); err != nil {
		return fmt.Errorf("binaries %v missing in %s and no 'go' command to build them", missing, binDir)
	}
	if err := os.MkdirAll(binDir, 0o755); err != nil {
		return err
	}
	modDir, cleanup, err := buildModuleDir()
	if err != nil {
		return err
	}
	defer cleanup()

	fmt.Fprintf(out, "building %s %v into %s (a fresh build takes several minutes)\n", kaiaModule+"@"+kaiaVersion, missing, binDir)
	start := time.Now()
	for i, name := range missing {
		if err := buildOne(ctx, modDir, binDir, name, fmt.Sprintf("%d/%d", i+1, len(missing)), out); err != nil {
			return err
		}
	}
	fmt.Fprintf(out, "built all in %s\n", time.Since(start).Round(time.Second))
	return nil
}

func buildOne(ctx context.Context, modDir, binDir, name, step string, out io.Writer) error {
	tmp := filepath.Join(binDir, "."+name+".tmp")
	cmd := exec.CommandContext(ctx, "go", "build", "-ldflags=-checklinkname=0", "-o", tmp, kaiaModule+"/cmd/"+name)
	cmd.Dir = modDir
	cmd.Env = append(os.Environ(), "GOWORK=off")
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log

	start := time.Now()
	fmt.Fprintf(out, "  [%s] building %s ...\n", step, name)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("go build %s: %w", name, err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	tick := time.NewTicker(30 * time.Second)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			if err != nil {
				os.Remove(tmp)
				return fmt.Errorf("go build %s failed: %v: %s", name, err, firstLines(log.String(), 5))
			}
			if err := os.Rename(tmp, filepath.Join(binDir, name)); err != nil {
				return err
			}
			fmt.Fprintf(out, "  [%s] built %s in %s\n", step, name, time.Since(start).Round(time.Second))
			return nil
		case <-tick.C:
			fmt.Fprintf(out, "  [%s] building %s ... %s elapsed\n", step, name, time.Since(start).Round(time.Second))
		}
	}
}

// buildModuleDir returns the devnet module's source directory when it can be
// found (the working directory or ./devnet), else a scratch module holding
// the embedded go.mod/go.sum.
func buildModuleDir() (string, func(), error) {
	for _, dir := range []string{".", "devnet"} {
		data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && strings.Contains(string(data), "module "+thisModule+"\n") {
			abs, err := filepath.Abs(dir)
			return abs, func() {}, err
		}
	}
	tmp, err := os.MkdirTemp("", "klayslave-devnet-build-")
	if err != nil {
		return "", nil, err
	}
	cleanup := func() { os.RemoveAll(tmp) }
	if err := os.WriteFile(filepath.Join(tmp, "go.mod"), embeddedGoMod, 0o644); err != nil {
		cleanup()
		return "", nil, err
	}
	if err := os.WriteFile(filepath.Join(tmp, "go.sum"), embeddedGoSum, 0o644); err != nil {
		cleanup()
		return "", nil, err
	}
	return tmp, cleanup, nil
}

func firstLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[:n]
	}
	return strings.Join(lines, " | ")
}
