package controlplane

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Processes are the servers a test started, each logging to <dir>/<name>.log.
// All are stopped by PID when the test ends, in reverse start order.
type Processes struct {
	dir   string
	procs []*process
}

type process struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
}

// NewProcesses keeps logs in dir and stops everything at the end of t.
func NewProcesses(t TB, dir string) *Processes {
	ps := &Processes{dir: dir}
	t.Cleanup(ps.StopAll)
	return ps
}

// Start starts a process in its own process group, so that a stop also
// reaches anything it forks. A name may be reused after Stop.
func (ps *Processes) Start(t TB, name, path string, args ...string) {
	t.Helper()
	logPath := filepath.Join(ps.dir, name+".log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(path, args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		t.Fatalf("starting %s: %v", name, err)
	}
	// The PID file and the start order let `make cluster-down` stop what
	// `make cluster-up` left running, last started first.
	if err := os.WriteFile(filepath.Join(ps.dir, name+".pid"), []byte(strconv.Itoa(cmd.Process.Pid)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := appendLine(filepath.Join(ps.dir, "processes"), name); err != nil {
		t.Fatal(err)
	}
	p := &process{name: name, cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() {
		cmd.Wait()
		logFile.Close()
		close(p.done)
	}()
	ps.procs = append(ps.procs, p)
}

// WaitFor polls check until it succeeds, failing fast with the log's tail
// if a started process died.
func (ps *Processes) WaitFor(t TB, what string, timeout time.Duration, check func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last error
	for time.Now().Before(deadline) {
		for _, p := range ps.procs {
			select {
			case <-p.done:
				t.Fatalf("%s exited while waiting for %s:\n%s", p.name, what, tail(p.log, 20))
			default:
			}
		}
		if last = check(); last == nil {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("timed out after %v waiting for %s: %v", timeout, what, last)
}

// CheckRunning fails t, with the log's tail, if the named process exited.
func (ps *Processes) CheckRunning(t TB, name string) {
	t.Helper()
	for _, p := range ps.procs {
		if p.name == name {
			select {
			case <-p.done:
				t.Fatalf("%s exited:\n%s", name, tail(p.log, 20))
			default:
			}
			return
		}
	}
	t.Fatalf("%s was not started", name)
}

// Stop stops the named process (SIGTERM, then SIGKILL after 10 s).
func (ps *Processes) Stop(name string) {
	for i, p := range ps.procs {
		if p.name == name {
			p.stop()
			ps.procs = append(ps.procs[:i], ps.procs[i+1:]...)
			return
		}
	}
}

// StopAll stops every process, last started first.
func (ps *Processes) StopAll() {
	for i := len(ps.procs) - 1; i >= 0; i-- {
		ps.procs[i].stop()
	}
	ps.procs = nil
}

func (p *process) stop() {
	defer os.Remove(strings.TrimSuffix(p.log, ".log") + ".pid")
	syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
	}
}

// Logs returns the last lines of a process's log, for failure messages.
func (ps *Processes) Logs(name string, lines int) string {
	return tail(filepath.Join(ps.dir, name+".log"), lines)
}

func tail(path string, lines int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	all := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	return strings.Join(all[max(0, len(all)-lines):], "\n")
}

func appendLine(path, line string) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(line + "\n"); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// getOK is a readiness probe: GET url answers 200.
func getOK(c *http.Client, url string) error {
	resp, err := c.Get(url)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return nil
}
