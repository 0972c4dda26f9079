package tc

import (
	"fmt"
	"strings"
	"testing"
)

func TestParseWeights(t *testing.T) {
	r := Builtin()
	cases, err := r.Parse("readGasPrice:3, rpcPing ,readGasPrice:9,noop:1")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range cases {
		got = append(got, fmt.Sprintf("%s:%d", c.Name, c.Weight))
	}
	if strings.Join(got, ",") != "readGasPrice:3,rpcPing:1,noop:1" {
		t.Fatalf("Parse = %v", got)
	}
	for in, want := range map[string]string{
		"rpcPing:":       `weight "" of rpcPing is not a whole number`,
		"rpcPing:-1":     `weight "-1" of rpcPing`,
		"rpcPing:abc":    `weight "abc" of rpcPing`,
		"rpcPing:0":      `weight "0" of rpcPing`,
		"rpcPing:+2":     `weight "+2" of rpcPing`,
		"rpcPing:1.5":    `weight "1.5" of rpcPing`,
		"rpcPing:10001":  `weight "10001" of rpcPing`,
		"nope":           `unknown test case "nope" in -tc; valid names: `,
		"preset:rpcPing": `unknown test case "preset:rpcPing"`,
		"reads:2":        "preset reads takes no weight",
		" , ":            "-tc names no test case",
	} {
		_, err := r.Parse(in)
		if err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("Parse(%q) = %v; want one line with %q", in, err, want)
		}
	}
	if _, err := r.Parse("nope"); err == nil || !strings.Contains(err.Error(), "presets: signedTransfers, tokens, reads,") || !strings.Contains(err.Error(), " noop, readBlockNumber, ") {
		t.Errorf("unknown name does not list the presets: %v", err)
	}
}

func TestParsePreset(t *testing.T) {
	r := Builtin()
	for _, in := range []string{"reads", "preset:reads"} {
		cases, err := r.Parse(in + ",rpcPing:7")
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, c := range cases {
			got = append(got, fmt.Sprintf("%s:%d", c.Name, c.Weight))
		}
		if strings.Join(got, ",") != "readGasPrice:60,readBlockNumber:10,readGetBlockByNumber:40,readGetAccount:10,readGetStorageAt:20,rpcPing:7" {
			t.Fatalf("Parse(%q) = %v", in, got)
		}
	}
}

// TestPresetsResolve checks that every preset names built-in cases only.
// The presets name the cases of the whole catalogue (native types, tokens,
// internal transactions), so it passes once those families are built in.
func TestPresetsResolve(t *testing.T) {
	for _, err := range Builtin().CheckPresets() {
		t.Error(err)
	}
}

func TestFamilies(t *testing.T) {
	for _, c := range Builtin().All() {
		if c.Family == "" {
			t.Errorf("case %s has no family", c.Name)
		}
	}
}
