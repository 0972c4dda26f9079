package contracts

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// EnvRequireSolc makes a missing compiler a failure instead of a skip, so
// that `make test` (which installs it) cannot pass by skipping.
const EnvRequireSolc = "KLAYSLAVE_REQUIRE_SOLC"

// TestArtifactsMatchSources compiles src/ with the pinned solc into a
// temporary directory and checks that every checked-in artifact of an own
// contract is byte for byte what it produces, and that nothing is missing
// or left over.
func TestArtifactsMatchSources(t *testing.T) {
	node, err := exec.LookPath("node")
	if err == nil {
		_, err = os.Stat(filepath.Join("solc", "node_modules", "solc", "soljson.js"))
	}
	if err != nil {
		msg := "the pinned solc is not installed (" + err.Error() + "); run `bash scripts/contracts.sh --deps`"
		if os.Getenv(EnvRequireSolc) != "" {
			t.Fatal(msg)
		}
		t.Skip(msg + "; set " + EnvRequireSolc + "=1 to make this a failure")
	}
	dir := t.TempDir()
	cmd := exec.Command(node, filepath.Join("solc", "compile.js"), dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("compile: %v\n%s", err, out)
	}
	built, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range built {
		names = append(names, strings.TrimSuffix(filepath.Base(f), ".json"))
	}
	if strings.Join(names, ",") != strings.Join(slices.Sorted(slices.Values(Own())), ",") {
		t.Fatalf("src/ compiles to %v, Own() lists %v", names, Own())
	}
	for _, name := range names {
		want, err := os.ReadFile(filepath.Join(dir, name+".json"))
		if err != nil {
			t.Fatal(err)
		}
		got, err := files.ReadFile(name + ".json")
		if err != nil {
			t.Fatalf("%s.json is not checked in; run `make contracts`", name)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s.json differs from what src/%s.sol compiles to; run `make contracts`", name, name)
		}
	}
}
