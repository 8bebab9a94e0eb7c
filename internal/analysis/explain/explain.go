package explain

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/analysis"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/interfaces"
)

// Report is the outcome of running an analyzer over a snapshot.
type Report struct {
	// Analyzer is the name of the analyzer that ran.
	Analyzer string `json:"analyzer"`
	// AnalyzedAt is the time passed to the analyzer.
	AnalyzedAt time.Time `json:"analyzedAt"`
	// Models holds the model-level findings in snapshot order.
	Models []ModelReport `json:"models"`
	// Decisions holds one entry per variant decision, grouped by model in snapshot order and
	// sorted by variant name within a model.
	Decisions []Decision `json:"decisions"`
}

// ModelReport is the model-level finding of the analyzer and the config it used.
type ModelReport struct {
	// ModelID is the analysed model.
	ModelID string `json:"modelID"`
	// Namespace is the model's namespace.
	Namespace string `json:"namespace"`
	// Summary states the analyzer's finding in one sentence.
	Summary string `json:"summary"`
	// Config is the saturation config the model was analysed with.
	Config interfaces.SaturationScalingConfig `json:"config"`
}

// Decision is the analyzer's decision for one variant.
type Decision struct {
	// ModelID is the variant's model.
	ModelID string `json:"modelID"`
	// Namespace is the variant's namespace.
	Namespace string `json:"namespace"`
	// VariantName is the VariantAutoscaling name.
	VariantName string `json:"variantName"`
	// Accelerator is the variant's accelerator type.
	Accelerator string `json:"accelerator,omitempty"`
	// CurrentReplicas is the variant's current replica count.
	CurrentReplicas int `json:"currentReplicas"`
	// DesiredReplicas is the previously published target (0 when none was).
	DesiredReplicas int `json:"desiredReplicas"`
	// TargetReplicas is the replica count the analyzer wants.
	TargetReplicas int `json:"targetReplicas"`
	// Action is "scale-up", "scale-down" or "no-change".
	Action interfaces.Action `json:"action"`
	// Reason explains the target.
	Reason string `json:"reason"`
}

// Explain runs the snapshot's analyzer over every model, each with its own saturation config,
// and collects the decisions. The snapshot should have passed Validate.
func Explain(s Snapshot, now time.Time) (Report, error) {
	az, err := analysis.New(s.Analyzer)
	if err != nil {
		return Report{}, fmt.Errorf("selecting analyzer: %w", err)
	}
	rep := Report{Analyzer: az.Name(), AnalyzedAt: now, Models: []ModelReport{}, Decisions: []Decision{}}
	for _, m := range s.Models {
		cfg := s.ConfigFor(m.ModelID, m.Namespace)
		res := az.Analyze(m, cfg, now)
		rep.Models = append(rep.Models, ModelReport{ModelID: m.ModelID, Namespace: m.Namespace, Summary: res.Summary, Config: cfg})
		for _, t := range res.Targets {
			rep.Decisions = append(rep.Decisions, Decision{
				ModelID: m.ModelID, Namespace: m.Namespace, VariantName: t.Variant, Accelerator: t.Accelerator,
				CurrentReplicas: t.Current, DesiredReplicas: t.Desired, TargetReplicas: t.Target,
				Action: t.Action, Reason: t.Reason,
			})
		}
	}
	return rep, nil
}

// WriteJSON writes the report as indented JSON.
func WriteJSON(w io.Writer, rep Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(rep); err != nil {
		return fmt.Errorf("writing JSON report: %w", err)
	}
	return nil
}

// WriteText writes the report as an aligned decision table followed by each model's summary
// and each variant's reason.
func WriteText(w io.Writer, rep Report) error {
	ew := &errWriter{w: w}
	fmt.Fprintf(ew, "Analyzer: %s\n\n", rep.Analyzer)
	tw := tabwriter.NewWriter(ew, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "MODEL\tNAMESPACE\tVARIANT\tACCELERATOR\tCURRENT\tDESIRED\tTARGET\tACTION")
	for _, d := range rep.Decisions {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%d\t%s\n", d.ModelID, dash(d.Namespace), d.VariantName, dash(d.Accelerator),
			d.CurrentReplicas, dashInt(d.DesiredReplicas), d.TargetReplicas, d.Action)
	}
	_ = tw.Flush() // a write error is kept in ew
	for _, m := range rep.Models {
		fmt.Fprintf(ew, "\n%s (namespace %s): %s\n", m.ModelID, dash(m.Namespace), m.Summary)
		for _, d := range rep.Decisions {
			if d.ModelID == m.ModelID && d.Namespace == m.Namespace {
				fmt.Fprintf(ew, "  %s: %s\n", d.VariantName, d.Reason)
			}
		}
	}
	if ew.err != nil {
		return fmt.Errorf("writing report: %w", ew.err)
	}
	return nil
}

// errWriter remembers the first write error and drops later writes.
type errWriter struct {
	w   io.Writer
	err error
}

// Write forwards p unless an earlier write failed.
func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}

// dash returns s, or "-" when s is empty.
func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// dashInt returns n, or "-" when n is 0.
func dashInt(n int) string {
	if n == 0 {
		return "-"
	}
	return strconv.Itoa(n)
}
