package saturation

import (
	"context"
	"testing"
	"time"

	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/analysis"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/interfaces"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/testutil"
)

// startupRecorder is the capacity analyzer that remembers each variant's StartupDelay.
type startupRecorder struct {
	analysis.CapacityAnalyzer
	startup map[string]time.Duration
}

func (r *startupRecorder) Analyze(m analysis.ModelState, cfg interfaces.SaturationScalingConfig, now time.Time) analysis.Result {
	for _, v := range m.Variants {
		r.startup[v.Name] = v.StartupDelay
	}
	return r.CapacityAnalyzer.Analyze(m, cfg, now)
}

// TestStartupDelayIsLearnedAndOverridden: the engine hands the analyzer the upper median of the
// observed start-up samples, bounded to [MinLearnedStartup, MaxLearnedStartup], keeps it while
// no new samples arrive, forgets it with the variant, and spec.startupDelaySeconds wins.
func TestStartupDelayIsLearnedAndOverridden(t *testing.T) {
	learned := testutil.VariantAutoscaling("learned").Model("m").Accelerator("H100").Obj()
	pinned := testutil.VariantAutoscaling("pinned").Model("m").Accelerator("A100").Obj()
	pinned.Spec.StartupDelaySeconds = ptr.To[int32](45)
	h := newHarness(t, analysis.AnalyzerCapacity, learned, pinned)
	rec := &startupRecorder{startup: map[string]time.Duration{}}
	var err error
	if h.engine, err = New(h.source, h.vas, h.cfg, h.decisions, h.trigger, WithClock(h.clock), WithAnalyzer(rec)); err != nil {
		t.Fatal(err)
	}
	cycle := func(samples ...time.Duration) {
		t.Helper()
		for _, va := range []string{"learned", "pinned"} {
			o := observed(2, 0.3, 0)
			o.StartupSamples = samples
			if va == "learned" {
				h.observe(learned, o)
			} else {
				h.observe(pinned, o)
			}
		}
		clear(rec.startup)
		if err := h.engine.RunOnce(context.Background()); err != nil {
			t.Fatal(err)
		}
		h.clock.Step(30 * time.Second)
	}
	steps := []struct {
		samples []time.Duration
		want    time.Duration
	}{
		{nil, 0}, // nothing learned yet: the analyzer's default
		{[]time.Duration{200 * time.Second, 180 * time.Second, 20 * time.Minute}, 200 * time.Second}, // one outlier
		{nil, 200 * time.Second},                              // remembered
		{[]time.Duration{2 * time.Second}, MinLearnedStartup}, // bounded below
		{[]time.Duration{5 * time.Hour}, MaxLearnedStartup},   // bounded above
	}
	for i, s := range steps {
		cycle(s.samples...)
		if got := rec.startup["learned"]; got != s.want {
			t.Errorf("step %d (samples %v): learned variant's StartupDelay %s, want %s", i, s.samples, got, s.want)
		}
		if got := rec.startup["pinned"]; got != 45*time.Second {
			t.Errorf("step %d: pinned variant's StartupDelay %s, want the 45s override", i, got)
		}
	}

	// A variant that vanishes is forgotten: back, it starts from the default.
	h.vas.Remove(client.ObjectKeyFromObject(learned))
	cycle()
	h.vas.Update(learned)
	cycle()
	if got := rec.startup["learned"]; got != 0 {
		t.Errorf("after the variant vanished: StartupDelay %s, want 0 (default)", got)
	}
}
