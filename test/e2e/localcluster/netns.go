package localcluster

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"syscall"
)

// Network is the private network the cluster creates: a network namespace joined to the host by
// a veth pair, with the pod CIDR routed into it and accepted there on loopback (AnyIP), so one
// listener inside the namespace answers for every pod IP.
type Network struct {
	// Namespace is the network namespace's name (ip netns).
	Namespace string
	// HostLink and NSLink are the veth ends on the host and in the namespace.
	HostLink, NSLink string
	// HostIP and NSIP are the veth addresses, in a /30.
	HostIP, NSIP string
	// PodCIDR is routed into the namespace.
	PodCIDR string
}

// ErrNetnsUnavailable is returned when the machine does not let this process create network
// namespaces or veth pairs.
var ErrNetnsUnavailable = errors.New("network namespaces are not available")

func ipCmd(args ...string) error {
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// Setup creates the namespace, the veth pair, the addresses and the routes. It first removes
// what a previous run may have left.
func (n Network) Setup() error {
	if _, err := exec.LookPath("ip"); err != nil {
		return fmt.Errorf("%w: the ip command (iproute2) is not on PATH", ErrNetnsUnavailable)
	}
	n.Teardown()
	if err := ipCmd("netns", "add", n.Namespace); err != nil {
		return fmt.Errorf("%w: %v (creating a network namespace needs root, or CAP_SYS_ADMIN and CAP_NET_ADMIN, outside an unprivileged container)", ErrNetnsUnavailable, err)
	}
	steps := [][]string{
		{"link", "add", n.HostLink, "type", "veth", "peer", "name", n.NSLink},
		{"link", "set", n.NSLink, "netns", n.Namespace},
		{"addr", "add", n.HostIP + "/30", "dev", n.HostLink},
		{"link", "set", n.HostLink, "up"},
		{"-n", n.Namespace, "addr", "add", n.NSIP + "/30", "dev", n.NSLink},
		{"-n", n.Namespace, "link", "set", n.NSLink, "up"},
		{"-n", n.Namespace, "link", "set", "lo", "up"},
		{"-n", n.Namespace, "route", "add", "default", "via", n.HostIP},
		{"route", "add", n.PodCIDR, "via", n.NSIP, "dev", n.HostLink},
		{"-n", n.Namespace, "route", "add", "local", n.PodCIDR, "dev", "lo"},
	}
	for _, s := range steps {
		if err := ipCmd(s...); err != nil {
			n.Teardown()
			return fmt.Errorf("%w: %v", ErrNetnsUnavailable, err)
		}
	}
	return nil
}

// Teardown removes the namespace and the veth pair (the route goes with the link); it ignores
// what does not exist.
func (n Network) Teardown() {
	_ = ipCmd("link", "del", n.HostLink)
	_ = ipCmd("netns", "del", n.Namespace)
}

// Exists reports whether the namespace exists.
func (n Network) Exists() bool {
	_, err := os.Stat("/run/netns/" + n.Namespace)
	return err == nil
}

// ListenInNamespace opens a TCP listener on addr inside the named network namespace. Only the
// socket is created there: the calling process stays in its own namespace (one OS thread
// switches and switches back), so it can still reach the host's loopback services.
func ListenInNamespace(namespace, addr string) (net.Listener, error) {
	target, err := os.Open("/run/netns/" + namespace)
	if err != nil {
		return nil, fmt.Errorf("opening network namespace %s: %w", namespace, err)
	}
	defer target.Close()
	self, err := os.Open(fmt.Sprintf("/proc/self/task/%d/ns/net", syscall.Gettid()))
	if err != nil {
		return nil, fmt.Errorf("opening the current network namespace: %w", err)
	}
	defer self.Close()

	type result struct {
		l   net.Listener
		err error
	}
	ch := make(chan result, 1)
	go func() {
		// The thread is never unlocked: if switching back fails it must not be reused, and
		// the Go runtime ends a locked thread when its goroutine exits.
		runtime.LockOSThread()
		if err := setns(int(target.Fd())); err != nil {
			ch <- result{err: fmt.Errorf("entering network namespace %s: %w", namespace, err)}
			return
		}
		l, lerr := net.Listen("tcp", addr)
		if err := setns(int(self.Fd())); err != nil {
			if l != nil {
				_ = l.Close()
			}
			ch <- result{err: fmt.Errorf("leaving network namespace %s: %w", namespace, err)}
			return
		}
		if lerr != nil {
			lerr = fmt.Errorf("listening on %s in network namespace %s: %w", addr, namespace, lerr)
		} else {
			runtime.UnlockOSThread()
		}
		ch <- result{l: l, err: lerr}
	}()
	r := <-ch
	return r.l, r.err
}

func setns(fd int) error {
	if _, _, errno := syscall.RawSyscall(sysSetns, uintptr(fd), uintptr(syscall.CLONE_NEWNET), 0); errno != 0 {
		return errno
	}
	return nil
}
