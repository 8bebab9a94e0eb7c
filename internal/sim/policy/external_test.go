package policy

import (
	"testing"
	"time"
)

func TestExternalHPAFollowsThePublishedValueWithLag(t *testing.T) {
	cfg := DefaultExternalHPAConfig()
	cfg.Behavior = DefaultBehavior() // scale up at once; down after 300 s
	h, err := NewExternalHPA(cfg)
	if err != nil {
		t.Fatal(err)
	}
	current := 2
	type tick struct {
		at      time.Duration
		publish float64 // 0: nothing published at this tick
		want    int
		wantOK  bool
	}
	for _, tc := range []tick{
		{at: 0, want: 2}, // nothing published yet: no decision
		{at: 5 * time.Second, publish: 5, want: 2},     // published between scrapes
		{at: 15 * time.Second, want: 5, wantOK: true},  // scraped at 15 s, synced at 15 s
		{at: 20 * time.Second, publish: 2, want: 5},    // between syncs
		{at: 30 * time.Second, want: 5, wantOK: true},  // scale-down held by the window
		{at: 330 * time.Second, want: 2, wantOK: true}, // 300 s after the last high value
	} {
		if tc.publish != 0 {
			h.Publish(tc.publish)
		}
		got, ok := h.Tick(t0.Add(tc.at), current)
		if got != tc.want || ok != tc.wantOK {
			t.Fatalf("at %s: %d, %v; want %d, %v", tc.at, got, ok, tc.want, tc.wantOK)
		}
		current = got
	}
}

func TestChartBehaviorLimitsScaleUp(t *testing.T) {
	h, err := NewExternalHPA(DefaultExternalHPAConfig())
	if err != nil {
		t.Fatal(err)
	}
	h.Publish(30)
	got, ok := h.Tick(t0, 2)
	if !ok || got != 12 {
		t.Errorf("chart HPA from 2 towards 30: %d, %v; want 12 (10 pods per 150 s)", got, ok)
	}
	if _, err := NewExternalHPA(ExternalHPAConfig{}); err == nil {
		t.Error("a zero config must be rejected")
	}
}
