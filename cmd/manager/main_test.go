package main

import (
	"os"
	"sync"
	"testing"

	uberzap "go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
)

// TestMain sets the process's one logger (controller-runtime's and klog's, which client-go's
// event broadcaster and reflectors use) before any test: stderr at the level WVA_TEST_VERBOSE
// selects, and everything, at every level, to the capture a test opens with captureLogs.
func TestMain(m *testing.M) {
	capture := zapcore.NewCore(zapcore.NewConsoleEncoder(uberzap.NewDevelopmentEncoderConfig()),
		zapcore.AddSync(captured), zapcore.Level(-5))
	logger := zap.New(zap.UseDevMode(true), zap.Level(zapLevelFromEnv()),
		zap.RawZapOpts(uberzap.WrapCore(func(c zapcore.Core) zapcore.Core { return zapcore.NewTee(c, capture) })))
	ctrl.SetLogger(logger)
	klog.SetLogger(logger)
	os.Exit(m.Run())
}

// captured forwards log output to the capture of the running test, if any.
var captured = &logSwitch{}

type logSwitch struct {
	mu sync.Mutex
	to *logCapture
}

func (s *logSwitch) Write(p []byte) (int, error) {
	s.mu.Lock()
	to := s.to
	s.mu.Unlock()
	if to == nil {
		return len(p), nil
	}
	return to.Write(p)
}

// captureLogs collects everything logged until the test ends.
func captureLogs(t *testing.T) *logCapture {
	t.Helper()
	c := &logCapture{}
	captured.mu.Lock()
	captured.to = c
	captured.mu.Unlock()
	t.Cleanup(func() {
		captured.mu.Lock()
		captured.to = nil
		captured.mu.Unlock()
	})
	return c
}
