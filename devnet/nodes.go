package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Base ports; --port-offset is added to each of them.
const (
	baseCNP2P      = 32323
	baseCNRPC      = 8551
	baseCNWS       = 8552
	baseENP2P      = 32325
	baseENRPC      = 8561
	baseENWS       = 8562
	baseMainBridge = 50505
	baseSCNP2P     = 32327
	baseSCNRPC     = 7551
	baseSCNWS      = 7552
	baseSubBridge  = 50506
)

// layout maps node names to paths and ports for one data dir and offset.
type layout struct {
	dir    string
	binDir string
	offset int
}

func newLayout(cfg config) (layout, error) {
	dir, err := filepath.Abs(cfg.dir)
	return layout{dir: dir, binDir: cfg.binDir, offset: cfg.portOffset}, err
}

func (l layout) port(base int) int { return base + l.offset }
func (l layout) path(elem ...string) string {
	return filepath.Join(append([]string{l.dir}, elem...)...)
}
func (l layout) dataDir(node string) string { return l.path(node) }
func (l layout) logFile(node string) string { return l.path("logs", node+".log") }
func (l layout) pidFile(node string) string { return l.path("pids", node+".pid") }
func (l layout) bin(name string) string     { return filepath.Join(l.binDir, name) }
func (l layout) httpURL(base int) string    { return fmt.Sprintf("http://127.0.0.1:%d", l.port(base)) }
func (l layout) wsURL(base int) string      { return fmt.Sprintf("ws://127.0.0.1:%d", l.port(base)) }
func (l layout) rpcURL(node string) string {
	return l.httpURL(map[string]int{"cn": baseCNRPC, "en": baseENRPC, "scn": baseSCNRPC}[node])
}
func nodeNames() []string { return []string{"cn", "en", "scn"} }

// namedPort is a port a node listens on.
type namedPort struct {
	node, what string
	port       int
}

// nodeSpec is how to start one node.
type nodeSpec struct {
	name  string
	bin   string
	args  []string
	ports []namedPort
}

const rpcAPIs = "klay,kaia,eth,net,web3,txpool,personal,admin,debug,governance"

func commonArgs(dataDir string, p2p, rpcPort, wsPort int) []string {
	return []string{
		"--datadir", dataDir,
		"--port", strconv.Itoa(p2p),
		"--nodiscover", "--nat", "none", "--netrestrict", "127.0.0.0/8", "--ntp.disable",
		"--rpc", "--rpcaddr", "127.0.0.1", "--rpcport", strconv.Itoa(rpcPort),
		"--ws", "--wsaddr", "127.0.0.1", "--wsport", strconv.Itoa(wsPort),
		// Commit the state of every block. kscn v1.0.3 hangs on SIGTERM and
		// is killed; with the default (every 128 blocks) it came back with
		// "Head state missing, repairing chain", rewound by minutes, and
		// contracts that klayslave had recorded as set up lost their state.
		"--gcmode", "archive",
		// No journal of local transactions: every transaction a load test
		// sends through the node is "local", the journal grew to 141 MB
		// after a few saturation runs, and replaying it on restart kept the
		// EN from answering within the 30 s `up` waits.
		"--txpool.journal", "",
		// Take chain-data anchoring transactions sent over RPC (the
		// newChainDataAnchoringTC cases); Kaia refuses them by default.
		"--txpool.allow-local-anchortx",
		// No speculative pre-execution of fetched blocks' transactions.
		// By default 32 workers re-run every transaction of a block the EN
		// receives (recovering each sender once more) alongside the real
		// import: on the devnet's two cores a quarter to a third of the
		// EN's CPU at saturation, varying twofold between minutes (CPU
		// profiles of the EN, docs/benchmarks.md), taken from the import
		// it is meant to speed up.
		"--statedb.cache.num-fetcher-prefetch-worker", "0",
	}
}

func nodeSpecs(l layout, st chainState) []nodeSpec {
	cn := nodeSpec{name: "cn", bin: l.bin("kcn"),
		args: append(commonArgs(l.dataDir("cn"), l.port(baseCNP2P), l.port(baseCNRPC), l.port(baseCNWS)),
			"--networkid", strconv.Itoa(mainChainID), "--nodekeyhex", st.CNNodeKey, "--rewardbase", st.CNReward,
			"--block-generation-interval", "1", "--rpcapi", rpcAPIs+",istanbul", "--wsapi", rpcAPIs+",istanbul"),
		ports: []namedPort{{"cn", "p2p", l.port(baseCNP2P)}, {"cn", "rpc", l.port(baseCNRPC)}, {"cn", "ws", l.port(baseCNWS)}},
	}
	en := nodeSpec{name: "en", bin: l.bin("ken"),
		args: append(commonArgs(l.dataDir("en"), l.port(baseENP2P), l.port(baseENRPC), l.port(baseENWS)),
			"--networkid", strconv.Itoa(mainChainID), "--nodekeyhex", keyHex(enNodeKey()),
			"--rpcapi", rpcAPIs+",mainbridge", "--wsapi", rpcAPIs+",mainbridge",
			"--mainbridge", "--mainbridgeport", strconv.Itoa(l.port(baseMainBridge)), "--childchainindexing"),
		ports: []namedPort{{"en", "p2p", l.port(baseENP2P)}, {"en", "rpc", l.port(baseENRPC)}, {"en", "ws", l.port(baseENWS)}, {"en", "main-bridge", l.port(baseMainBridge)}},
	}
	scn := nodeSpec{name: "scn", bin: l.bin("kscn"),
		args: append(commonArgs(l.dataDir("scn"), l.port(baseSCNP2P), l.port(baseSCNRPC), l.port(baseSCNWS)),
			"--networkid", strconv.Itoa(serviceChainID), "--nodekeyhex", st.SCNNodeKey, "--rewardbase", st.SCNReward,
			"--block-generation-interval", "1", "--rpcapi", rpcAPIs+",subbridge", "--wsapi", rpcAPIs+",subbridge",
			"--subbridge", "--subbridgeport", strconv.Itoa(l.port(baseSubBridge)), "--parentchainid", strconv.Itoa(mainChainID)),
		ports: []namedPort{{"scn", "p2p", l.port(baseSCNP2P)}, {"scn", "rpc", l.port(baseSCNRPC)}, {"scn", "ws", l.port(baseSCNWS)}, {"scn", "sub-bridge", l.port(baseSubBridge)}},
	}
	return []nodeSpec{cn, en, scn}
}

// checkPortsFree fails with a one-line message on the first port in use.
// The p2p and bridge listeners bind all interfaces, so check the wildcard.
func checkPortsFree(l layout, ports []namedPort) error {
	for _, p := range ports {
		ln, err := net.Listen("tcp", fmt.Sprintf(":%d", p.port))
		if err != nil {
			return fmt.Errorf("port %d (%s %s) is already in use by another process; stop it or pick another --port-offset (%s would log to %s)",
				p.port, p.node, p.what, p.node, l.logFile(p.node))
		}
		ln.Close()
	}
	return nil
}

// startedNode is a node process this run started.
type startedNode struct {
	name   string
	pid    int
	log    string
	exited chan error // receives the exit status once the process ends
}

// startNode starts a node in its own session, so that it outlives this
// command, with stdout/stderr appended to its log file and its PID written
// to its PID file.
func startNode(l layout, spec nodeSpec) (*startedNode, error) {
	logPath := l.logFile(spec.name)
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(f, "### %s %s\n", spec.bin, strings.Join(spec.args, " "))
	// Not CommandContext: the node must keep running after `up` returns.
	cmd := exec.Command(spec.bin, spec.args...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("%s did not start: %v; read %s", spec.name, err, logPath)
	}
	n := &startedNode{name: spec.name, pid: cmd.Process.Pid, log: logPath, exited: make(chan error, 1)}
	// Reap the child if it dies while we still run (no zombie, and a clear error).
	go func() {
		err := cmd.Wait()
		f.Close()
		if err == nil {
			err = errors.New("exited")
		}
		n.exited <- err
	}()
	if err := os.WriteFile(l.pidFile(spec.name), []byte(strconv.Itoa(n.pid)+"\n"), 0o644); err != nil {
		return n, err
	}
	return n, nil
}

// readPID returns the PID recorded for a node, or 0.
func readPID(l layout, node string) int {
	data, err := os.ReadFile(l.pidFile(node))
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil {
		return 0
	}
	return pid
}

// ourProcess reports whether pid is a live (non-zombie) process whose
// command line names this devnet's data dir for that node. It guards
// against signalling an unrelated process that reused the PID.
func ourProcess(l layout, node string, pid int) bool {
	if pid <= 0 {
		return false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	if i := bytes.LastIndexByte(stat, ')'); i >= 0 && i+2 < len(stat) && (stat[i+2] == 'Z' || stat[i+2] == 'X') {
		return false
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return false
	}
	return bytes.Contains(cmdline, []byte("\x00"+l.dataDir(node)+"\x00"))
}

// processGone reports whether pid no longer names a live process: no
// /proc entry, or every thread a zombie. (The group leader can already be a
// zombie while other threads still exit and hold the listening sockets.)
func processGone(pid int) bool {
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		return true
	}
	for _, t := range tasks {
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/stat", pid, t.Name()))
		if err != nil {
			continue
		}
		if i := bytes.LastIndexByte(stat, ')'); i >= 0 && i+2 < len(stat) && stat[i+2] != 'Z' && stat[i+2] != 'X' {
			return false
		}
	}
	return true
}

// stopGrace is how long stopNodes waits after SIGTERM before SIGKILL.
const stopGrace = 10 * time.Second

// stopNodes stops the nodes recorded in the PID files: SIGTERM, wait, then
// SIGKILL. It never looks processes up by name.
func stopNodes(ctx context.Context, l layout) ([]string, error) {
	type victim struct {
		node string
		pid  int
	}
	var victims []victim
	for _, node := range nodeNames() {
		pid := readPID(l, node)
		if ourProcess(l, node, pid) {
			if err := syscall.Kill(pid, syscall.SIGTERM); err == nil {
				victims = append(victims, victim{node, pid})
			}
		} else if pid != 0 {
			os.Remove(l.pidFile(node))
		}
	}
	var stopped []string
	// kscn v1.0.3 often hangs in its sub-bridge p2p server's Stop after
	// SIGTERM (its chain keeps producing blocks), so the grace is short.
	deadline := time.Now().Add(stopGrace)
	for _, v := range victims {
		for !processGone(v.pid) && time.Now().Before(deadline) && ctx.Err() == nil {
			time.Sleep(100 * time.Millisecond)
		}
		how := "SIGTERM"
		if !processGone(v.pid) {
			how = fmt.Sprintf("SIGKILL after %s", stopGrace)
			syscall.Kill(v.pid, syscall.SIGKILL)
			for i := 0; i < 50 && !processGone(v.pid); i++ {
				time.Sleep(100 * time.Millisecond)
			}
		}
		if !processGone(v.pid) {
			return stopped, fmt.Errorf("%s (pid %d) did not stop after SIGKILL; read %s", v.node, v.pid, l.logFile(v.node))
		}
		os.Remove(l.pidFile(v.node))
		stopped = append(stopped, fmt.Sprintf("%s (pid %d, %s)", v.node, v.pid, how))
	}
	return stopped, nil
}
