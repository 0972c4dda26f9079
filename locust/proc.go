package locust

import (
	"bytes"
	"os"
	"strconv"
	"syscall"
	"time"
)

// cpuMeter measures this process's CPU use between two calls, in percent of
// one core (like psutil's Process.cpu_percent: may exceed 100).
type cpuMeter struct {
	lastCPU  time.Duration
	lastWall time.Time
}

func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// percent returns the CPU % since the previous call (0 on the first call).
func (m *cpuMeter) percent() float64 {
	cpu, now := processCPU(), time.Now()
	defer func() { m.lastCPU, m.lastWall = cpu, now }()
	if m.lastWall.IsZero() {
		return 0
	}
	wall := now.Sub(m.lastWall)
	if wall <= 0 {
		return 0
	}
	return 100 * float64(cpu-m.lastCPU) / float64(wall)
}

// residentBytes returns this process's RSS from /proc/self/statm (0 if
// unavailable, e.g. not on Linux).
func residentBytes() int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := bytes.Fields(b)
	if len(f) < 2 {
		return 0
	}
	pages, err := strconv.ParseInt(string(f[1]), 10, 64)
	if err != nil {
		return 0
	}
	return pages * int64(os.Getpagesize())
}
