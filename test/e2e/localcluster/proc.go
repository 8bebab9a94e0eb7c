package localcluster

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// process is one component the cluster runs: its log is logs/<name>.log and its pid
// pids/<name>.pid under the state directory.
type process struct {
	name string
	bin  string
	args []string
	env  []string
}

func (c *Cluster) pidFile(name string) string {
	return filepath.Join(c.cfg.StateDir, "pids", name+".pid")
}

// LogFile is the log of the named component.
func (c *Cluster) LogFile(name string) string {
	return filepath.Join(c.cfg.StateDir, "logs", name+".log")
}

// startProcess starts p in its own session (so it outlives a CLI that started it), appending
// its output to its log file, and records its pid.
func (c *Cluster) startProcess(p process) error {
	if pid, ok := c.running(p.name); ok {
		return fmt.Errorf("%s is already running (pid %d); stop the cluster first", p.name, pid)
	}
	logf, err := os.OpenFile(c.LogFile(p.name), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("opening the log of %s: %w", p.name, err)
	}
	defer logf.Close()
	fmt.Fprintf(logf, "=== %s starting %s %s\n", time.Now().Format(time.RFC3339Nano), p.bin, strings.Join(p.args, " "))
	cmd := exec.Command(p.bin, p.args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env = append(os.Environ(), p.env...)
	cmd.Dir = c.cfg.StateDir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting %s (%s): %w", p.name, p.bin, err)
	}
	if err := os.WriteFile(c.pidFile(p.name), []byte(strconv.Itoa(cmd.Process.Pid)), 0o644); err != nil {
		_ = cmd.Process.Kill()
		return fmt.Errorf("writing the pid file of %s: %w", p.name, err)
	}
	// Reap the child when it exits while this process lives (tests); a CLI exits first and the
	// child is reparented.
	go func() { _ = cmd.Wait() }()
	return nil
}

// StartProcess starts an extra component (the vLLM emulator, the WVA manager) the same way as
// the cluster's own: in its own session, logging to LogFile(name), stopped by Stop.
func (c *Cluster) StartProcess(name, bin string, args, env []string) error {
	return c.startProcess(process{name: name, bin: bin, args: args, env: env})
}

// Running reports whether the named component runs.
func (c *Cluster) Running(name string) bool { _, ok := c.running(name); return ok }

// running returns the pid of the named component if it runs.
func (c *Cluster) running(name string) (int, bool) {
	b, err := os.ReadFile(c.pidFile(name))
	if err != nil {
		return 0, false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0, false
	}
	return pid, Alive(pid)
}

// Alive reports whether pid is a live process (a zombie is not).
func Alive(pid int) bool {
	if err := syscall.Kill(pid, 0); err != nil {
		return false
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// pid (comm) state ...
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 < len(s) {
		return s[i+2] != 'Z'
	}
	return true
}

// StopComponent stops the named component: SIGTERM, then SIGKILL after grace.
func (c *Cluster) StopComponent(name string) error {
	pid, ok := c.running(name)
	defer os.Remove(c.pidFile(name))
	if !ok {
		return nil
	}
	_ = syscall.Kill(pid, syscall.SIGTERM)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if !Alive(pid) {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("killing %s (pid %d): %w", name, pid, err)
	}
	return nil
}

// rssMiB returns the resident set size of pid in MiB.
func rssMiB(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			f := strings.Fields(line)
			if len(f) >= 2 {
				kb, err := strconv.ParseFloat(f[1], 64)
				return kb / 1024, err
			}
		}
	}
	return 0, errors.New("no VmRSS")
}
