package report

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// tableHeader names the columns of the comparison table.
var tableHeader = []string{"policy", "SLO met", "feasible met", "GPU-hours", "cost $", "cost ×warm", "cost ×oracle", "TTFT p50", "TTFT p99", "ITL p99",
	"unfinished", "scale events", "reversals", "peak replicas"}

// tableRows returns one row of cells per policy, in the order of tableHeader.
func tableRows(c Comparison) [][]string {
	rows := make([][]string, 0, len(c.Policies))
	for _, p := range c.Policies {
		s := p.Score
		peaks := make([]string, 0, len(s.Variants))
		for _, v := range s.Variants {
			peaks = append(peaks, fmt.Sprintf("%s=%d", v.Name, v.PeakReplicas))
		}
		name := p.Name
		if p.UnderProvisioned {
			name += " (under-provisioned)"
		}
		rows = append(rows, []string{
			name,
			fmt.Sprintf("%.2f%%", 100*s.SLOAttainment),
			fmt.Sprintf("%.2f%%", 100*s.FeasibleAttainment),
			fmt.Sprintf("%.2f", s.GPUHours),
			fmt.Sprintf("%.2f", s.Cost),
			fmt.Sprintf("%.2f", p.CostRatioToOracleWarm),
			fmt.Sprintf("%.2f", p.CostRatioToOracle),
			seconds(s.TTFTP50),
			seconds(s.TTFTP99),
			fmt.Sprintf("%.1fms", float64(s.ITLP99)/float64(time.Millisecond)),
			fmt.Sprint(s.Unfinished),
			fmt.Sprint(s.ScaleEvents),
			fmt.Sprint(s.Reversals),
			strings.Join(peaks, " "),
		})
	}
	return rows
}

// seconds formats d in seconds with two decimals.
func seconds(d time.Duration) string {
	return fmt.Sprintf("%.2fs", d.Seconds())
}

// scenarioLines describes the scenario in two sentences.
func scenarioLines(c Comparison) []string {
	variants := make([]string, 0, len(c.Variants))
	for _, v := range c.Variants {
		variants = append(variants, fmt.Sprintf("%s (%s, $%.2f/GPU-h)", v.Name, v.Profile.Name, v.Profile.CostPerGPUHour))
	}
	return []string{
		fmt.Sprintf("Scenario %s: %d requests in %s, variants %s, start-up delay %s, seed %d.",
			c.Name, c.Requests, c.Duration.Round(time.Second), strings.Join(variants, ", "), c.Config.StartupDelay, c.Config.Seed),
		fmt.Sprintf("SLO: TTFT <= %s and mean ITL <= %s. Plans: oracle-warm $%.2f (%.2f GPU-hours), oracle $%.2f (%.2f GPU-hours).",
			c.Config.SLO.TTFT, c.Config.SLO.ITL, c.OracleWarm.Cost, c.OracleWarm.GPUHours, c.Oracle.Cost, c.Oracle.GPUHours),
	}
}

// WriteTable writes the scenario in two lines, then one aligned row per policy: SLO attainment
// over all and over feasible requests, GPU-hours, cost, cost relative to each oracle's plan,
// TTFT p50 and p99, ITL p99,
// unfinished requests, scale events, reversals and the peak replicas of each variant.
func WriteTable(w io.Writer, c Comparison) error {
	for _, l := range scenarioLines(c) {
		if _, err := fmt.Fprintln(w, l); err != nil {
			return err
		}
	}
	if _, err := fmt.Fprintln(w); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(tableHeader, "\t"))
	for _, r := range tableRows(c) {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, l := range modelLines(c) {
		if _, err := fmt.Fprintln(w, l); err != nil {
			return err
		}
	}
	for _, l := range setupLines(c) {
		if _, err := fmt.Fprintln(w, l); err != nil {
			return err
		}
	}
	return nil
}

// modelLines break each policy's attainment and cost down per model, after an empty line, in a
// scenario of several models; none otherwise.
func modelLines(c Comparison) []string {
	var out []string
	for _, p := range c.Policies {
		for _, m := range p.Score.Models {
			out = append(out, fmt.Sprintf("%s, model %s: SLO met %.2f%%, feasible met %.2f%%, TTFT p99 %s, cost $%.2f (%.2f GPU-hours).",
				p.Name, m.Model, 100*m.SLOAttainment, 100*m.FeasibleAttainment, seconds(m.TTFTP99), m.Cost, m.GPUHours))
		}
	}
	if len(out) > 0 {
		out = append([]string{""}, out...)
	}
	return out
}

// setupLines say how each policy built on the production engine ran, after an empty line.
func setupLines(c Comparison) []string {
	var out []string
	for _, p := range c.Policies {
		if p.Setup != "" {
			out = append(out, fmt.Sprintf("%s: %s.", p.Name, p.Setup))
		}
	}
	if len(out) > 0 {
		out = append([]string{""}, out...)
	}
	return out
}
