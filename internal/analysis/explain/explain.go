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
	// Breakdown is the slo analyzer's decision number by number: demand, forecast, SLO
	// feedback, per-replica capacity per variant and the optimisation result.
	Breakdown *analysis.SLOBreakdown `json:"breakdown,omitempty"`
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
		rep.Models = append(rep.Models, ModelReport{ModelID: m.ModelID, Namespace: m.Namespace, Summary: res.Summary, Config: cfg,
			Breakdown: res.Breakdown})
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
		if m.Breakdown != nil {
			writeBreakdown(ew, m.Breakdown)
		}
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

// writeBreakdown writes the slo analyzer's breakdown: demand, forecast, feedback, per-variant
// capacity and the optimisation result.
func writeBreakdown(w io.Writer, b *analysis.SLOBreakdown) {
	fmt.Fprintf(w, "  demand:    arrival %s req/s (%s)\n", fnum(b.ArrivalRate), dash(b.ArrivalSource))
	fmt.Fprintf(w, "  forecast:  over %s: level %s, expected %s, burst margin %s -> planned %s req/s\n",
		b.Horizon, fnum(b.Level), fnum(b.Expected), fnum(b.Margin), fnum(b.Planned))
	fmt.Fprintf(w, "  feedback:  headroom x%s (%s)\n", fnum(b.Headroom), b.Feedback)
	fmt.Fprintf(w, "  needed:    %s x %s = %s req/s; the current fleet sustains %s req/s\n",
		fnum(b.Planned), fnum(b.Headroom), fnum(b.Needed), fnum(b.CurrentCapacity))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  VARIANT\tCOST\tREQ/S PER REPLICA\tBOUND\tPARAMS\tCURRENT\tTARGET")
	for _, v := range b.Variants {
		params := "perfParms"
		if v.Fitted {
			params = "fitted"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%d\t%d\n", v.Name, fnum(v.Cost), fnum(v.CapacityPerReplica), dash(v.Bound), params, v.Current, v.Target)
	}
	_ = tw.Flush() // a write error is kept in w
	feasible := ""
	if !b.Feasible {
		feasible = ", short of the need"
	}
	fmt.Fprintf(w, "  result:    %s req/s at cost %s%s: %s\n", fnum(b.ChosenCapacity), fnum(b.ChosenCost), feasible, b.Verdict)
}

// fnum formats a number with up to three significant digits, whole numbers from 1000 on.
func fnum(x float64) string {
	if x >= 1000 || x <= -1000 {
		return strconv.FormatFloat(x, 'f', 0, 64)
	}
	return strconv.FormatFloat(x, 'g', 3, 64)
}
