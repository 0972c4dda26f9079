package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/klayslave/klayslave/tc"
)

func runArgs(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

// Bad input: exit code 2 and exactly one line that names the problem.
func TestBadInputExitsTwoWithOneLine(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"-tc"}, "-tc needs a value"},
		{[]string{"-tc="}, "-tc is empty"},
		{[]string{"-max-rps", "10"}, "-tc is required"},
		{[]string{"-tc=nosuchTc"}, `unknown test case "nosuchTc" in -tc; valid names: `},
		{[]string{"-tc=nosuchPreset"}, `; presets: signedTransfers, tokens, reads,`},
		{[]string{"-tc=rpcPing:"}, `-tc: weight "" of rpcPing is not a whole number from 1 to 10000; write name:N, e.g. rpcPing:2`},
		{[]string{"-tc=rpcPing:-1"}, `-tc: weight "-1" of rpcPing`},
		{[]string{"-tc=rpcPing:abc"}, `-tc: weight "abc" of rpcPing`},
		{[]string{"-tc=rpcPing:0"}, `-tc: weight "0" of rpcPing`},
		{[]string{"-tc=reads:2"}, `-tc: preset reads takes no weight`},
		{[]string{"-tc=noop", "-max-rps", "-5"}, "-max-rps must be 0 (no cap) or more"},
		{[]string{"-tc=noop", "-master-port", "55x"}, `invalid value "55x" for flag -master-port: want a port number from 1 to 65535`},
		{[]string{"-tc=noop", "-master-port", "70000"}, "want a port number"},
		{[]string{"-tc=noop", "-locust-protocol", "1.0"}, "-locust-protocol must be 2 or 0.9"},
		{[]string{"run", "-tc=noop", "-fail-ratio", "2"}, "-fail-ratio must be between 0 and 1"},
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
		{[]string{"-tc=noop", "stray"}, `unexpected argument "stray"`},
		{[]string{"-tc=noop", "-stop-timeout", "-1s"}, "-stop-timeout and -drain-timeout must not be negative"},
		{[]string{"-tc=noop", "-inclusion-timeout", "0"}, "-inclusion-timeout must be 1 block or more"},
		{[]string{"-tc=noop", "-max-pending-per-account", "-1"}, "-max-pending-per-account must be 1 or more"},
		{[]string{"-tc=noop", "-contracts", "Nope=0x01"}, "want Name=0xaddress with a name among KlayslaveERC20, "},
		{[]string{"-tc=noop", "-contracts", "KVStore=0xzz"}, `KVStore="0xzz" is not an address`},
	}
	for _, c := range cases {
		code, _, stderr := runArgs(c.args...)
		if code != 2 {
			t.Errorf("%v: exit code %d, want 2", c.args, code)
		}
		if strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: stderr = %q, want one line containing %q", c.args, stderr, c.want)
		}
	}
}

// A bad key value is never echoed back.
func TestKeyValueNeverEchoed(t *testing.T) {
	const secret = "74d94a471b8c88eab6f8cd4322047cd4bccd54dc93b861d2509d158a026eeec7"
	_, out, errs := runArgs("-mcKey="+secret, "-tc=nosuch")
	if strings.Contains(out+errs, secret) {
		t.Fatalf("key echoed: %q", out+errs)
	}
}

// The seed's command line parses verbatim, in both -flag and --flag forms.
func TestSeedCommandLineParses(t *testing.T) {
	for _, dash := range []string{"-", "--"} {
		var o options
		fs := newFlagSet("klayslave", &o, false)
		args := []string{dash + "max-rps", "10", dash + "mcKey=74d94a471b8c88eab6f8cd4322047cd4bccd54dc93b861d2509d158a026eeec7",
			dash + "scKey=e70e12c0be35c27a157a66d4f1ae84ab1a25d4673f63af6f081284ccae6f942b", dash + "tc=scValueTransferTc",
			dash + "numMcUser", "3", dash + "numScUser", "4", dash + "mcEndpoint", "http://a:1", dash + "scEndpoint", "http://b:2",
			dash + "master-host", "10.0.0.9", dash + "master-port", "5600"}
		if err := parseFlags(fs, args, &o); err != nil {
			t.Fatalf("%s form: %v", dash, err)
		}
		if o.maxRPS != 10 || o.tc != "scValueTransferTc" || o.numMcUser != 3 || o.numScUser != 4 ||
			o.mcEndpoint != "http://a:1" || o.scEndpoint != "http://b:2" || o.masterHost != "10.0.0.9" || o.masterPort != 5600 ||
			!strings.HasPrefix(o.mcKey, "74d9") || !strings.HasPrefix(o.scKey, "e70e") {
			t.Fatalf("%s form parsed to %+v", dash, o)
		}
	}
	var o options
	if err := parseFlags(newFlagSet("klayslave", &o, false), nil, &o); err != nil || o.masterPort != 5557 ||
		o.masterHost != "127.0.0.1" || o.numMcUser != 10 || o.mcEndpoint != "http://localhost:8545" || o.scEndpoint != "http://localhost:7545" {
		t.Fatalf("defaults: %+v %v", o, err)
	}
}

func TestListNamesEveryCase(t *testing.T) {
	code, out, _ := runArgs("list")
	if code != 0 {
		t.Fatalf("list: %d %q", code, out)
	}
	out = "\n" + out
	reg := tc.Builtin()
	for _, c := range reg.All() {
		// Each case sits under its family's heading.
		head := strings.Index(out, "\n"+c.Family+":\n")
		at := strings.Index(out, "  "+c.Name+" ")
		// and no other heading (an unindented line) comes between.
		if head < 0 || at < head || strings.Count(out[head+1:at], "\n") != strings.Count(out[head+1:at], "\n  ")+1 {
			t.Errorf("list: %s is not under %q", c.Name, c.Family+":")
		}
	}
	presets := strings.Index(out, "presets ")
	for _, p := range reg.Presets() {
		if i := strings.Index(out, "  "+p.Name+" "); i < presets || presets < 0 {
			t.Errorf("list: preset %s is not under the presets heading", p.Name)
		}
	}
	if !strings.Contains(out, "readGasPrice:60,readBlockNumber:10,readGetBlockByNumber:40,readGetAccount:10,readGetStorageAt:20") {
		t.Errorf("list does not show the reads preset's weights:\n%s", out)
	}
}

// A user class named after a built-in case that -tc does not name gets one
// warning naming the class and what its users run; a class named after a
// case in -tc, or any other class, gets none.
func TestClassNamedAfterAnotherCaseWarnsOnce(t *testing.T) {
	var logs bytes.Buffer
	s, err := prepare(context.Background(), "klayslave", []string{"-tc=noop"}, false, &logs)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		s.Spawn(map[string]int{"rpcPing": 1, "noop": 1, "KlaySlave": 1})
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	s.Stop(ctx)
	out := logs.String()
	if n := strings.Count(out, "is named after test case"); n != 1 {
		t.Fatalf("%d warnings, want 1:\n%s", n, out)
	}
	if !strings.Contains(out, `user class \"rpcPing\" is named after test case rpcPing, which -tc does not name; its users run the -tc cases (noop)`) {
		t.Fatalf("warning does not name the class and what it runs:\n%s", out)
	}
}

func TestMaxPendingFitsThePool(t *testing.T) {
	for _, c := range []struct{ flag, accounts, want int }{
		{0, 10, 64}, {0, 200, 20}, {0, 256, 16}, {0, 300, 16}, {0, 400, 12},
		{0, 4096, 1}, {0, 0, 64}, {7, 200, 7},
	} {
		if got := maxPending(c.flag, c.accounts); got != c.want {
			t.Errorf("maxPending(%d, %d) = %d, want %d", c.flag, c.accounts, got, c.want)
		}
	}
}
