package policy

import (
	"testing"
	"time"

	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/interfaces"
)

// TestSLOSpec: the scenario's SLO becomes the spec.slo a user would write (whole milliseconds,
// the attainment as a decimal string); no targets, no spec.slo.
func TestSLOSpec(t *testing.T) {
	if s := sloSpec(interfaces.SLOTargets{}); s != nil {
		t.Errorf("zero targets: %+v, want nil", s)
	}
	s := sloSpec(interfaces.SLOTargets{TTFT: 2 * time.Second, ITL: 50 * time.Millisecond, Attainment: 0.99})
	if s == nil || s.TTFTMilliseconds == nil || *s.TTFTMilliseconds != 2000 || s.ITLMilliseconds == nil || *s.ITLMilliseconds != 50 || s.Attainment != "0.99" {
		t.Fatalf("spec.slo %+v", s)
	}
	if a, ok := s.AttainmentValue(); !ok || a != 0.99 {
		t.Errorf("attainment %q does not parse back: %g, %v", s.Attainment, a, ok)
	}
	if s := sloSpec(interfaces.SLOTargets{ITL: 50 * time.Millisecond}); s.TTFTMilliseconds != nil || s.Attainment != "" {
		t.Errorf("ITL only: %+v", s)
	}
}
