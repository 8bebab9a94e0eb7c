package report

import (
	"bytes"
	"cmp"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/sim/workload"
)

// ReportFile is the name of the Markdown report WriteReport writes.
const ReportFile = "report.md"

// WriteReport creates dir if needed and writes report.md (the scenario, the comparison table,
// how to read it and the plots) with its three plots: ArrivalsPlot, ReplicasPlot and LatencyPlot.
// Existing files of the same names are replaced.
func WriteReport(dir string, c Comparison) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("creating report directory: %w", err)
	}
	if err := writePlots(dir, c); err != nil {
		return err
	}
	var b bytes.Buffer
	writeMarkdown(&b, c)
	if err := os.WriteFile(filepath.Join(dir, ReportFile), b.Bytes(), 0o644); err != nil {
		return fmt.Errorf("writing report: %w", err)
	}
	return nil
}

// writeMarkdown writes the report's Markdown.
func writeMarkdown(b *bytes.Buffer, c Comparison) {
	cfg := c.Config
	fmt.Fprintf(b, "# Autoscaling policies on %s\n\n", c.Name)
	fmt.Fprintf(b, "Simulated with the WVA simulator (`docs/simulator.md`); reproduce with\n\n```sh\n%s\n```\n\n", command(c))

	b.WriteString("## Scenario\n\n")
	if cfg.Trace != "" {
		fmt.Fprintf(b, "- **Traffic**: `%s` at %s× its recorded arrival rate (seed %d): %d requests; each run lasts %s (last arrival + 5 min).\n",
			cfg.Trace, strconv.FormatFloat(cfg.RateScale, 'g', -1, 64), cfg.Seed, c.Requests, c.Duration.Round(time.Second))
	} else {
		fmt.Fprintf(b, "- **Traffic**: a synthetic stream at %s× (seed %d): %d requests; each run lasts %s.\n",
			strconv.FormatFloat(cfg.RateScale, 'g', -1, 64), cfg.Seed, c.Requests, c.Duration.Round(time.Second))
	}
	b.WriteString("- **Variants** of one model, behind one least-loaded router:\n")
	for _, v := range c.Variants {
		fmt.Fprintf(b, "  - `%s`: %s, %d GPU per replica, $%.2f per GPU-hour, start-up delay %s\n",
			v.Name, v.Profile.Name, v.Profile.GPUsPerReplica, v.Profile.CostPerGPUHour, v.StartupDelay)
	}
	fmt.Fprintf(b, "- **SLO** per request: TTFT ≤ %s and mean ITL ≤ %s.\n", cfg.SLO.TTFT, cfg.SLO.ITL)
	fmt.Fprintf(b, "- **Oracle plans**: oracle-warm $%.2f (%.2f GPU-hours), oracle $%.2f (%.2f GPU-hours).\n\n",
		c.OracleWarm.Cost, c.OracleWarm.GPUHours, c.Oracle.Cost, c.Oracle.GPUHours)

	b.WriteString("## Results\n\n")
	b.WriteString("| " + strings.Join(tableHeader, " | ") + " |\n")
	b.WriteString("|" + strings.Repeat("---|", len(tableHeader)) + "\n")
	for _, r := range tableRows(c) {
		b.WriteString("| " + strings.Join(r, " | ") + " |\n")
	}
	if lines := setupLines(c); len(lines) > 0 {
		b.WriteString("\nHow the policies built on the production engine ran:\n\n")
		for _, l := range lines[1:] {
			b.WriteString("- " + l + "\n")
		}
	}
	b.WriteString(`
## How to read it

- **SLO met**: the share of all arriving requests that finished with a TTFT and a mean
  inter-token latency within the SLO. Requests still queued or running when the run ends count
  as misses. **feasible met** is the same share among the requests that can meet the SLO at all
  (served alone on an idle replica of some variant, they do): the misses no autoscaler can avoid
  are left out.
- **GPU-hours** and **cost**: every replica counts from its creation to its removal, start-up and
  draining included. The two are different objectives: the oracles minimise cost.
- **cost ×warm** divides the cost by the plan of **oracle-warm**: with hindsight, the cheapest
  schedule in which every replica is ordered a start-up delay before it serves and is paid for
  from its creation, sized to meet the SLO for 99 % of each minute's feasible requests (solved
  exactly by dynamic programming over the replica counts). It is the physical limit of any
  autoscaler facing that start-up delay. **cost ×oracle** divides by the plan of **oracle**,
  which also knows the future but whose replicas start instantly: the best-case bracket, below
  what any real policy can reach. Both oracles size a mix of variants by adding up their
  capacities and size each minute on its own, so their replays land slightly off their plans.
- A good policy sits at the top of feasible met with a low cost ×warm. **static** holds the
  instant oracle's peak fleet for the whole run: the price of not autoscaling. **hpa** is the
  Kubernetes HPA on KV-cache usage, **wva** the production engine (capacity analyzer), **wva-v1**
  the reference's v1 analyzer behind its HPA chain. A policy marked **under-provisioned** cost
  less than the instant oracle's plan and met the SLO for fewer than 99 % of the feasible
  requests: it saved money by failing requests.
- **TTFT p50/p99** and **ITL p99** are nearest-rank percentiles over the run. A p99 TTFT above
  the SLO usually means that replicas were added too late: they take the start-up delay to serve.
- **scale events** count changes of a variant's replica count; **reversals** the changes in the
  opposite direction of the previous one (flapping). **peak replicas** is the largest count each
  variant had.

## Plots

The time axes are minutes from the start of the trace; every panel of a figure shares its y
range, so the policies can be compared at a glance.

`)
	fmt.Fprintf(b, "**Arrival rate** — requests per second, averaged over each minute: the demand every policy faces.\n\n![Arrival rate](%s)\n\n", ArrivalsPlot)
	fmt.Fprintf(b, "**Replicas and signals**, three panels per policy (recorded every %s):\n\n"+
		"- *Replicas* per variant. Thick lines: the Deployment's replicas (what is paid for), one colour, dash pattern "+
		"and width per variant, so that equal counts stay visible; thin dotted lines of the same colour: the ready "+
		"ones (what serves). The gap between them is the start-up delay.\n"+
		"- *Demand against capacity*: demand (green) is the requests in the system, running and waiting on every "+
		"replica plus those waiting in the router for a ready one; capacity (grey, shaded) is the ready replicas "+
		"of each variant times the requests one replica holds at once (its KV cache over the stream's mean context, "+
		"prompt + half the output, at most its batch size: %s); queued (red, dashed) is the waiting part of "+
		"the demand. Demand above capacity means requests queue or are preempted.\n"+
		"- *KV-cache usage*: the mean over each variant's ready replicas, with the shipped kvCacheThreshold "+
		"(dashed), the level above which the saturation engine scales up.\n\n![Replicas and signals](%s)\n\n",
		cfg.TimelineEvery, capacityList(c), ReplicasPlot)
	fmt.Fprintf(b, "**Latency**, one row per policy: left the TTFT, right the mean ITL (per request, over requests with more "+
		"than one output token), p50 and p99 of the requests that arrived in each minute (log scale; the dashed "+
		"line is the SLO).\n\n![TTFT and ITL](%s)\n", LatencyPlot)
}

// capacityList names each variant's per-replica capacity, e.g. "a100 115, h100 325 requests".
func capacityList(c Comparison) string {
	parts := make([]string, 0, len(c.Variants))
	for i, v := range c.Variants {
		if i < len(c.ReplicaCapacity) {
			parts = append(parts, fmt.Sprintf("%s %.0f", v.Name, c.ReplicaCapacity[i]))
		}
	}
	return strings.Join(parts, ", ") + " requests"
}

// command returns the `wva simulate` command line that reproduces c.
func command(c Comparison) string {
	cfg := c.Config
	args := []string{"wva simulate"}
	if cfg.Trace != "" {
		args = append(args, "--trace "+cfg.Trace)
		if cfg.TraceFormat != "" && cfg.TraceFormat != workload.FormatAuto {
			args = append(args, "--trace-format "+cfg.TraceFormat)
		}
	}
	args = append(args,
		"--rate-scale "+strconv.FormatFloat(cfg.RateScale, 'g', -1, 64),
		"--startup-delay "+cfg.StartupDelay.String(),
		"--variants "+strings.Join(cfg.Profiles, ","),
		"--policies "+strings.Join(cfg.Policies, ","),
		"--slo-ttft "+cfg.SLO.TTFT.String(),
		"--slo-itl "+cfg.SLO.ITL.String(),
		"--seed "+strconv.FormatUint(cfg.Seed, 10),
		"--metrics "+cmp.Or(cfg.Metrics, MetricsPrometheus),
		"--report DIR")
	return strings.Join(args, " ")
}
