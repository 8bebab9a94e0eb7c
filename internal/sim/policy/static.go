package policy

import (
	"context"
	"maps"
	"time"

	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/sim"
)

// NameStatic is the name of the Static policy.
const NameStatic = "static"

// Static keeps a fixed replica count per variant.
type Static struct {
	replicas map[string]int
}

// NewStatic returns a policy that holds each variant named in replicas at its count and leaves
// the others alone. Start a run with the same counts as the variants' InitialReplicas to have
// them ready from time zero.
func NewStatic(replicas map[string]int) *Static {
	return &Static{replicas: maps.Clone(replicas)}
}

// Name implements sim.Policy.
func (*Static) Name() string { return NameStatic }

// Decide implements sim.Policy: it always asks for the fixed counts.
func (s *Static) Decide(context.Context, time.Time, sim.Cluster) (map[string]int, error) {
	return maps.Clone(s.replicas), nil
}

// Replicas returns the fixed counts.
func (s *Static) Replicas() map[string]int { return maps.Clone(s.replicas) }
