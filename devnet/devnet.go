package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"

	"github.com/kaiachain/kaia/networks/rpc"
)

const (
	nodeStartTimeout = 30 * time.Second // each node answers RPC
	readyTimeout     = 60 * time.Second // EN synced, sub-bridge connected, blocks rising
)

// up brings the network to a healthy state and prints its description.
func up(ctx context.Context, cfg config) error {
	l, err := newLayout(cfg)
	if err != nil {
		return err
	}
	if err := ensureBinaries(ctx, l.binDir, cfg.stdout); err != nil {
		return err
	}
	start := time.Now()
	step := stepPrinter(cfg.stdout)

	st, stErr := loadState(l)
	if !cfg.fresh && stErr == nil && st.PortOffset != l.offset {
		return usageError{fmt.Sprintf("%s was created with --port-offset %d; use that, or --fresh", l.dir, st.PortOffset)}
	}
	if !cfg.fresh {
		if info, err := healthy(ctx, l); err == nil {
			fmt.Fprintf(cfg.stdout, "devnet already running in %s\n", l.dir)
			printSummary(cfg.stdout, l, info)
			return nil
		}
	}
	// Stop whatever an earlier `up` of this dir left running.
	stopped, err := stopNodes(ctx, l)
	if err != nil {
		return err
	}
	if len(stopped) > 0 {
		step("stopped earlier nodes %v", stopped)
	}

	// Check every port before touching the data dir: a clear one-line error.
	// Ports of nodes stopped just now may take a moment to be released.
	grace := time.Duration(0)
	if len(stopped) > 0 {
		grace = 5 * time.Second
	}
	if err := waitPortsFree(ctx, l, grace); err != nil {
		return err
	}

	if cfg.fresh || stErr != nil {
		if err := wipe(l.dir); err != nil {
			return err
		}
		if st, err = generate(ctx, l, cfg.stdout); err != nil {
			return err
		}
		step("genesis generated and data dirs initialised")
	}

	info, err := bringUp(ctx, l, st, step)
	if err != nil {
		// Leave no half-started network behind; the logs stay for reading.
		stopNodes(context.WithoutCancel(ctx), l)
		return err
	}
	if err := writeNetworkInfo(l, info); err != nil {
		return err
	}
	fmt.Fprintf(cfg.stdout, "devnet up in %.1fs\n", time.Since(start).Seconds())
	printSummary(cfg.stdout, l, info)
	return nil
}

// waitPortsFree checks all devnet ports, retrying for up to grace.
func waitPortsFree(ctx context.Context, l layout, grace time.Duration) error {
	var ports []namedPort
	for _, s := range nodeSpecs(l, chainState{}) {
		ports = append(ports, s.ports...)
	}
	deadline := time.Now().Add(grace)
	for {
		err := checkPortsFree(l, ports)
		if err == nil || time.Now().After(deadline) {
			return err
		}
		if err := sleep(ctx, 250*time.Millisecond); err != nil {
			return err
		}
	}
}

// bringUp starts the nodes, waits until they are ready, then sets up the
// bridge pair, or re-checks the one recorded in network.json.
func bringUp(ctx context.Context, l layout, st chainState, step stepFunc) (networkInfo, error) {
	cn, en, sc, closeAll, err := dialAll(ctx, l)
	if err != nil {
		return networkInfo{}, err
	}
	defer closeAll()

	// One at a time, each once the previous one answers RPC (its p2p and
	// bridge listeners are up by then): a static dial that fails is only
	// retried after 30 s (p2p dialHistoryExpiration), which would cost 30 s.
	clients := []*rpc.Client{cn, en, sc}
	var nodes []*startedNode
	startBlocks := make([]uint64, 3)
	for i, spec := range nodeSpecs(l, st) {
		n, err := startNode(l, spec)
		if n != nil {
			nodes = append(nodes, n)
		}
		if err != nil {
			return networkInfo{}, err
		}
		if startBlocks[i], err = waitRPC(ctx, l, nodes, clients[i]); err != nil {
			return networkInfo{}, err
		}
	}
	step("started cn (pid %d), en (pid %d), scn (pid %d); logs in %s", nodes[0].pid, nodes[1].pid, nodes[2].pid, l.path("logs"))

	if err := waitReady(ctx, l, nodes, startBlocks, cn, en, sc); err != nil {
		return networkInfo{}, err
	}
	step("ready: en synced with cn, sub-bridge connected, both chains producing blocks")

	pids := map[string]int{}
	for _, n := range nodes {
		pids[n.name] = n.pid
	}
	var b bridgeInfo
	if old, err := loadNetworkInfo(l); err == nil && old.Bridge.ServiceBridge != "" {
		b = old.bridge()
		if err := checkBridgeListed(ctx, sc, b); err != nil {
			return networkInfo{}, err
		}
		if err := waitBridgesRestored(ctx, sc, b); err != nil {
			return networkInfo{}, fmt.Errorf("%v; read %s", err, l.logFile("scn"))
		}
		step("bridge pair from network.json is registered and subscribed")
	} else if b, err = setupBridge(ctx, en, sc, step); err != nil {
		return networkInfo{}, fmt.Errorf("bridge set-up: %v; read %s", err, l.logFile("scn"))
	}
	return newNetworkInfo(l, b, pids), nil
}

// exitedNode returns an error naming the log of a started node that died.
func exitedNode(nodes []*startedNode) error {
	for _, n := range nodes {
		select {
		case err := <-n.exited:
			n.exited <- err
			return fmt.Errorf("%s (pid %d) exited during start-up (%v); read %s", n.name, n.pid, err, n.log)
		default:
		}
	}
	return nil
}

// waitRPC waits for the last started node to answer klay_blockNumber.
func waitRPC(ctx context.Context, l layout, nodes []*startedNode, c *rpc.Client) (uint64, error) {
	n := nodes[len(nodes)-1]
	deadline := time.Now().Add(nodeStartTimeout)
	for {
		if err := exitedNode(nodes); err != nil {
			return 0, err
		}
		if bn, err := blockNumber(ctx, c); err == nil {
			return bn, nil
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("%s did not start: no RPC answer on %s within %s; read %s", n.name, l.rpcURL(n.name), nodeStartTimeout, n.log)
		}
		if err := sleep(ctx, 100*time.Millisecond); err != nil {
			return 0, err
		}
	}
}

func dialAll(ctx context.Context, l layout) (cn, en, sc *rpc.Client, closeAll func(), err error) {
	var clients []*rpc.Client
	closeAll = func() {
		for _, c := range clients {
			c.Close()
		}
	}
	for _, node := range nodeNames() {
		c, err := dial(ctx, l.rpcURL(node))
		if err != nil {
			closeAll()
			return nil, nil, nil, nil, fmt.Errorf("dial %s: %w", l.rpcURL(node), err)
		}
		clients = append(clients, c)
	}
	return clients[0], clients[1], clients[2], closeAll, nil
}

// waitReady waits for the EN within 1 block of the CN, at least one
// sub-bridge peer, and both chains' blocks rising past startBlocks. Every
// failure names the log file to read.
func waitReady(ctx context.Context, l layout, nodes []*startedNode, startBlocks []uint64, cn, en, sc *rpc.Client) error {
	start := time.Now()
	deadline := start.Add(readyTimeout)
	nudged := false
	for {
		if err := exitedNode(nodes); err != nil {
			return err
		}
		// The EN dials the CN once; if that first dial fails, Kaia's p2p
		// retries only after 30 s. The CN has never dialled the EN, so
		// asking it to connect costs nothing and does not wait.
		if !nudged && time.Since(start) > 4*time.Second {
			var enPeers []any
			if call(ctx, en, &enPeers, "admin_peers") == nil && len(enPeers) == 0 {
				var ok bool
				_ = call(ctx, cn, &ok, "admin_addPeer", kni(enNodeKey(), l.port(baseENP2P), "en"))
			}
			nudged = true
		}
		var peers []any
		cnBN, err1 := blockNumber(ctx, cn)
		enBN, err2 := blockNumber(ctx, en)
		scBN, err3 := blockNumber(ctx, sc)
		err4 := call(ctx, sc, &peers, "subbridge_peers")
		var reason error
		switch {
		case err1 != nil:
			reason = fmt.Errorf("cn RPC failing (%v); read %s", err1, l.logFile("cn"))
		case err2 != nil:
			reason = fmt.Errorf("en RPC failing (%v); read %s", err2, l.logFile("en"))
		case err3 != nil || err4 != nil:
			reason = fmt.Errorf("scn RPC failing (%v); read %s", errors.Join(err3, err4), l.logFile("scn"))
		case len(peers) == 0:
			reason = fmt.Errorf("sub-bridge did not connect to the main-bridge (en port %d) within %s; read %s", l.port(baseMainBridge), readyTimeout, l.logFile("scn"))
		case cnBN <= startBlocks[0]:
			reason = fmt.Errorf("cn produces no blocks (stuck at %d); read %s", cnBN, l.logFile("cn"))
		case scBN <= startBlocks[2]:
			reason = fmt.Errorf("scn produces no blocks (stuck at %d); read %s", scBN, l.logFile("scn"))
		case enBN+1 < cnBN:
			reason = fmt.Errorf("en did not sync with cn (en block %d, cn block %d); read %s", enBN, cnBN, l.logFile("en"))
		default:
			return nil
		}
		if time.Now().After(deadline) {
			return reason
		}
		if err := sleep(ctx, 300*time.Millisecond); err != nil {
			return err
		}
	}
}

// healthy returns the recorded network when all three recorded processes
// are ours and alive, their RPCs answer, blocks rise, the sub-bridge has a
// peer and the bridge pair is subscribed.
func healthy(ctx context.Context, l layout) (networkInfo, error) {
	info, err := loadNetworkInfo(l)
	if err != nil {
		return info, err
	}
	for _, node := range nodeNames() {
		pid := readPID(l, node)
		if !ourProcess(l, node, pid) || info.PIDs[node] != pid {
			return info, fmt.Errorf("%s is not running", node)
		}
	}
	cn, en, sc, closeAll, err := dialAll(ctx, l)
	if err != nil {
		return info, err
	}
	defer closeAll()
	cn0, err := blockNumber(ctx, cn)
	if err != nil {
		return info, err
	}
	sc0, err := blockNumber(ctx, sc)
	if err != nil {
		return info, err
	}
	var peers []any
	if err := call(ctx, sc, &peers, "subbridge_peers"); err != nil || len(peers) == 0 {
		return info, errors.New("sub-bridge has no peer")
	}
	if err := checkBridgeListed(ctx, sc, info.bridge()); err != nil {
		return info, err
	}
	deadline := time.Now().Add(3 * time.Second)
	for {
		cn1, err1 := blockNumber(ctx, cn)
		sc1, err2 := blockNumber(ctx, sc)
		en1, err3 := blockNumber(ctx, en)
		if err1 == nil && err2 == nil && err3 == nil && cn1 > cn0 && sc1 > sc0 && en1+1 >= cn1 {
			return info, nil
		}
		if time.Now().After(deadline) {
			return info, errors.New("blocks are not rising")
		}
		if err := sleep(ctx, 250*time.Millisecond); err != nil {
			return info, err
		}
	}
}

// wipe removes a devnet data dir. It refuses to remove a non-empty
// directory that does not look like one.
func wipe(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if len(entries) > 0 {
		_, e1 := os.Stat(dir + "/state.json")
		_, e2 := os.Stat(dir + "/homi")
		_, e3 := os.Stat(dir + "/logs")
		if e1 != nil && e2 != nil && e3 != nil {
			return fmt.Errorf("refusing to wipe %s: it is not empty and holds no devnet (no state.json, homi/ or logs/)", dir)
		}
	}
	return os.RemoveAll(dir)
}

func down(ctx context.Context, cfg config) error {
	l, err := existingLayout(cfg)
	if err != nil {
		return err
	}
	if cfg.prune {
		if n, err := pruneBridges(ctx, l); err != nil {
			fmt.Fprintf(cfg.stderr, "devnet: bridge pairs not pruned: %v\n", err)
		} else if n > 0 {
			fmt.Fprintf(cfg.stdout, "deregistered %d bridge pairs (the devnet's own is kept)\n", n)
		}
	}
	stopped, err := stopNodes(ctx, l)
	for _, s := range stopped {
		fmt.Fprintf(cfg.stdout, "stopped %s\n", s)
	}
	if err == nil && len(stopped) == 0 {
		fmt.Fprintf(cfg.stdout, "no devnet process running for %s\n", l.dir)
	}
	return err
}

func status(ctx context.Context, cfg config) error {
	l, err := existingLayout(cfg)
	if err != nil {
		return err
	}
	running := 0
	for _, node := range nodeNames() {
		pid := readPID(l, node)
		if !ourProcess(l, node, pid) {
			fmt.Fprintf(cfg.stdout, "%-4s not running (log %s)\n", node, l.logFile(node))
			continue
		}
		running++
		c, err := dial(ctx, l.rpcURL(node))
		if err != nil {
			return err
		}
		bn, err := blockNumber(ctx, c)
		line := fmt.Sprintf("%-4s pid %-7d %s block %d", node, pid, l.rpcURL(node), bn)
		if err != nil {
			line = fmt.Sprintf("%-4s pid %-7d %s no RPC answer: %v", node, pid, l.rpcURL(node), err)
		}
		if node == "scn" && err == nil {
			var peers []any
			if err := call(ctx, c, &peers, "subbridge_peers"); err == nil {
				line += fmt.Sprintf(", sub-bridge peers %d", len(peers))
			}
			var list []bridgeJournal
			if err := call(ctx, c, &list, "subbridge_listBridge"); err == nil {
				for _, j := range list {
					line += fmt.Sprintf(", bridge %s<->%s subscribed=%v", j.ChildAddress.Hex(), j.ParentAddress.Hex(), j.Subscribed)
				}
			}
		}
		c.Close()
		fmt.Fprintln(cfg.stdout, line)
	}
	switch running {
	case len(nodeNames()):
		return nil
	case 0:
		return fmt.Errorf("devnet in %s is not running; start it with 'devnet up'", l.dir)
	default:
		return fmt.Errorf("devnet in %s is only partly running; 'devnet up' restarts it", l.dir)
	}
}

// existingLayout is the layout of the devnet already created in cfg.dir,
// with the ports it was created with: `status --dir` of a devnet started
// with --port-offset asked the default ports, so it called a running
// devnet dead, or reported another devnet's blocks as its own.
func existingLayout(cfg config) (layout, error) {
	l, err := newLayout(cfg)
	if err != nil {
		return l, err
	}
	if st, err := loadState(l); err == nil {
		l.offset = st.PortOffset
	}
	return l, nil
}

func printEnv(cfg config) error {
	l, err := newLayout(cfg)
	if err != nil {
		return err
	}
	if cfg.jsonOut {
		data, err := os.ReadFile(l.path("network.json"))
		if err != nil {
			return fmt.Errorf("no network description at %s; run 'devnet up' first", l.path("network.json"))
		}
		_, err = cfg.stdout.Write(data)
		return err
	}
	data, err := os.ReadFile(l.path("network.env"))
	if err != nil {
		return fmt.Errorf("no network description at %s; run 'devnet up' first", l.path("network.env"))
	}
	_, err = cfg.stdout.Write(data)
	return err
}

func printSummary(out io.Writer, l layout, n networkInfo) {
	fmt.Fprintf(out, "main chain    %s (ws %s, cn %s) chain id %d\n", n.MainChain.RPC, n.MainChain.WS, n.MainChain.CNRPC, n.MainChain.ChainID)
	fmt.Fprintf(out, "service chain %s (ws %s) chain id %d\n", n.ServiceChain.RPC, n.ServiceChain.WS, n.ServiceChain.ChainID)
	fmt.Fprintf(out, "bridge        main %s  service %s\n", n.Bridge.MainBridge, n.Bridge.ServiceBridge)
	fmt.Fprintf(out, "operators     parent %s  child %s\n", n.Bridge.ParentOperator, n.Bridge.ChildOperator)
	fmt.Fprintf(out, "pids          cn %d  en %d  scn %d (stop with 'devnet down')\n", n.PIDs["cn"], n.PIDs["en"], n.PIDs["scn"])
	fmt.Fprintf(out, "written       %s, %s; logs in %s\n", l.path("network.json"), l.path("network.env"), n.LogDir)
	fmt.Fprintf(out, "WARNING: %s (%s)\n", insecureWarning, "mcFunder/scFunder/spare keys in network.json")
}

func sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}
