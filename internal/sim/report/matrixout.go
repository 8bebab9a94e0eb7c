package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image/color"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// MatrixPlot is the name of the scatter plot WriteMatrixReport writes.
const MatrixPlot = "matrix.png"

// matrixHeader names the columns of a matrix table.
var matrixHeader = []string{"policy", "feasible mean", "feasible worst", "cost ×warm mean", "cost ×warm worst", "reversals mean", "under-prov.", "verdict"}

// matrixRows returns one row per aggregate, in the order of matrixHeader.
func matrixRows(as []Aggregate) [][]string {
	rows := make([][]string, 0, len(as))
	for _, a := range as {
		rows = append(rows, []string{
			a.Name,
			fmt.Sprintf("%.2f%%", 100*a.MeanFeasibleAttainment),
			fmt.Sprintf("%.2f%%", 100*a.WorstFeasibleAttainment),
			fmt.Sprintf("%.2f", a.MeanCostRatioToOracleWarm),
			fmt.Sprintf("%.2f", a.WorstCostRatioToOracleWarm),
			fmt.Sprintf("%.1f", a.MeanReversals),
			fmt.Sprintf("%d/%d", a.UnderProvisioned, a.Cells),
			a.Verdict,
		})
	}
	return rows
}

// groupTitle describes a group in one line.
func groupTitle(g Group) string {
	seeds := "seeds"
	if len(g.Cells) == 1 {
		seeds = "seed"
	}
	return fmt.Sprintf("%s x%s, start-up %s, SLO TTFT %s ITL %s, %d %s",
		g.TraceName, strconv.FormatFloat(g.RateScale, 'g', -1, 64), g.StartupDelay, g.SLO.TTFT, g.SLO.ITL, len(g.Cells), seeds)
}

// matrixIntro describes the matrix and the verdict in a few lines.
func matrixIntro(m Matrix) []string {
	cfg := m.Config
	traces := make([]string, 0, len(cfg.Traces))
	for _, t := range cfg.Traces {
		traces = append(traces, t.Name())
	}
	seeds := make([]string, 0, len(cfg.Seeds))
	for _, s := range cfg.Seeds {
		seeds = append(seeds, strconv.FormatUint(s, 10))
	}
	delays := make([]string, 0, len(cfg.StartupDelays))
	for _, d := range cfg.StartupDelays {
		delays = append(delays, d.String())
	}
	return []string{
		fmt.Sprintf("Matrix: %d cells = traces %s × their rate scales × start-up delays %s × seeds %s; variants %s.",
			len(m.Cells), strings.Join(traces, ", "), strings.Join(delays, ", "), strings.Join(seeds, ", "), strings.Join(cfg.Profiles, ", ")),
		fmt.Sprintf("Verdict per group: %s when the worst feasible attainment over the seeds is >= %s%% and the mean cost is <= %s× the oracle-warm plan.",
			VerdictMeets, strconv.FormatFloat(100*cfg.MeetsAttainment, 'f', -1, 64), strconv.FormatFloat(cfg.MeetsCostRatio, 'f', -1, 64)),
	}
}

// WriteMatrixTable writes the matrix as text: a short description, one table per cell group
// (trace × rate scale × start-up delay, over the seeds) and an overall table per policy.
func WriteMatrixTable(w io.Writer, m Matrix) error {
	var b bytes.Buffer
	for _, l := range matrixIntro(m) {
		b.WriteString(l + "\n")
	}
	table := func(title string, as []Aggregate) {
		fmt.Fprintf(&b, "\n%s\n", title)
		tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, strings.Join(matrixHeader, "\t"))
		for _, r := range matrixRows(as) {
			fmt.Fprintln(tw, strings.Join(r, "\t"))
		}
		tw.Flush()
	}
	for _, g := range m.Groups {
		table(groupTitle(g), g.Policies)
	}
	table(fmt.Sprintf("Overall, %d cells in %d groups", len(m.Cells), len(m.Groups)), m.Summary)
	_, err := w.Write(b.Bytes())
	return err
}

// jsonMatrix is the document WriteMatrixJSON writes.
type jsonMatrix struct {
	Thresholds jsonThresholds  `json:"thresholds"`
	Cells      []jsonCell      `json:"cells"`
	Groups     []jsonGroup     `json:"groups"`
	Summary    []jsonAggregate `json:"summary"`
}

type jsonThresholds struct {
	FeasibleAttainment    float64 `json:"feasibleAttainment"`
	CostRatioToOracleWarm float64 `json:"costRatioToOracleWarm"`
}

type jsonCell struct {
	TraceName string `json:"traceName"`
	jsonReport
}

type jsonGroup struct {
	TraceName           string          `json:"traceName"`
	RateScale           float64         `json:"rateScale"`
	StartupDelaySeconds float64         `json:"startupDelaySeconds"`
	SLO                 jsonSLO         `json:"slo"`
	Seeds               []uint64        `json:"seeds"`
	Policies            []jsonAggregate `json:"policies"`
}

type jsonAggregate struct {
	Name                       string  `json:"name"`
	Cells                      int     `json:"cells"`
	MeanFeasibleAttainment     float64 `json:"meanFeasibleAttainment"`
	WorstFeasibleAttainment    float64 `json:"worstFeasibleAttainment"`
	MeanSLOAttainment          float64 `json:"meanSLOAttainment"`
	MeanCostRatioToOracleWarm  float64 `json:"meanCostRatioToOracleWarm"`
	WorstCostRatioToOracleWarm float64 `json:"worstCostRatioToOracleWarm"`
	MeanReversals              float64 `json:"meanReversals"`
	UnderProvisioned           int     `json:"underProvisioned"`
	Verdict                    string  `json:"verdict"`
	Meets                      bool    `json:"meets"`
}

func jsonAggregates(as []Aggregate) []jsonAggregate {
	out := make([]jsonAggregate, len(as))
	for i, a := range as {
		out[i] = jsonAggregate{Name: a.Name, Cells: a.Cells, MeanFeasibleAttainment: a.MeanFeasibleAttainment,
			WorstFeasibleAttainment: a.WorstFeasibleAttainment, MeanSLOAttainment: a.MeanSLOAttainment,
			MeanCostRatioToOracleWarm: a.MeanCostRatioToOracleWarm, WorstCostRatioToOracleWarm: a.WorstCostRatioToOracleWarm,
			MeanReversals: a.MeanReversals, UnderProvisioned: a.UnderProvisioned, Verdict: a.Verdict, Meets: a.Meets}
	}
	return out
}

// WriteMatrixJSON writes m as one indented JSON document: "thresholds" of the verdict;
// "cells", each the document WriteJSON writes for one comparison plus its "traceName";
// "groups" with each policy's aggregate over the seeds (meanFeasibleAttainment,
// worstFeasibleAttainment, meanSLOAttainment, meanCostRatioToOracleWarm,
// worstCostRatioToOracleWarm, meanReversals, underProvisioned cells, verdict, meets); and
// "summary", the same over all cells.
func WriteMatrixJSON(w io.Writer, m Matrix) error {
	doc := jsonMatrix{
		Thresholds: jsonThresholds{FeasibleAttainment: m.Config.MeetsAttainment, CostRatioToOracleWarm: m.Config.MeetsCostRatio},
		Cells:      make([]jsonCell, 0, len(m.Cells)),
		Groups:     make([]jsonGroup, 0, len(m.Groups)),
		Summary:    jsonAggregates(m.Summary),
	}
	for _, c := range m.Cells {
		doc.Cells = append(doc.Cells, jsonCell{TraceName: c.TraceName, jsonReport: newJSONReport(c.Comparison)})
	}
	for _, g := range m.Groups {
		jg := jsonGroup{TraceName: g.TraceName, RateScale: g.RateScale, StartupDelaySeconds: g.StartupDelay.Seconds(),
			SLO: jsonSLO{TTFTSeconds: g.SLO.TTFT.Seconds(), ITLSeconds: g.SLO.ITL.Seconds()}, Policies: jsonAggregates(g.Policies)}
		for _, ci := range g.Cells {
			jg.Seeds = append(jg.Seeds, m.Cells[ci].Comparison.Config.Seed)
		}
		doc.Groups = append(doc.Groups, jg)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(doc)
}

// WriteMatrixReport creates dir if needed and writes report.md (the tables and how to read
// them) and MatrixPlot. Existing files of the same names are replaced.
func WriteMatrixReport(dir string, m Matrix) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("creating report directory: %w", err)
	}
	if err := savePanels(filepath.Join(dir, MatrixPlot), matrixPanels(m), 4*vg.Inch); err != nil {
		return err
	}
	var b bytes.Buffer
	b.WriteString("# Benchmark matrix\n\nSimulated with the WVA simulator (`docs/simulator.md`, `wva bench`).\n\n")
	for _, l := range matrixIntro(m) {
		b.WriteString(l + "\n")
	}
	table := func(title string, as []Aggregate) {
		fmt.Fprintf(&b, "\n## %s\n\n| %s |\n|%s\n", title, strings.Join(matrixHeader, " | "), strings.Repeat("---|", len(matrixHeader)))
		for _, r := range matrixRows(as) {
			b.WriteString("| " + strings.Join(r, " | ") + " |\n")
		}
	}
	table(fmt.Sprintf("Overall, %d cells in %d groups", len(m.Cells), len(m.Groups)), m.Summary)
	for _, g := range m.Groups {
		table(groupTitle(g), g.Policies)
	}
	fmt.Fprintf(&b, `
## How to read it

- A **cell** is one comparison (`+"`wva simulate`"+`): a trace at a rate scale, a start-up delay and a
  seed. A **group** gathers the seeds of one trace, rate scale and start-up delay.
- **feasible** is the share of the requests that can meet the SLO at all (served alone on an idle
  replica of some variant, they do) and did; **worst** is the lowest over the cells.
- **cost ×warm** is a run's cost over the oracle-warm plan's: the cheapest schedule, with
  hindsight, in which every replica is ordered a start-up delay before it serves. 1.0 is the
  physical limit; **oracle** (instant replicas) can go below it.
- **under-prov.** counts the cells in which a policy cost less than the instant oracle's plan and
  met the SLO for fewer than 99 %% of the feasible requests: it saved by failing requests.
- **reversals** are changes of a variant's replica count opposite to its previous change.

## Attainment against cost

![Feasible attainment against cost](%s)

One point per policy per cell, one panel per trace: across, the cost over the oracle-warm plan;
up, the feasible attainment. Better is up and to the left; a policy whose points all sit above
and left of another's dominates it. The dashed lines are the verdict's thresholds: points in the
upper-left box meet them.
`, MatrixPlot)
	if err := os.WriteFile(filepath.Join(dir, ReportFile), b.Bytes(), 0o644); err != nil {
		return fmt.Errorf("writing report: %w", err)
	}
	return nil
}

// matrixColors colour the policies of the scatter plot, in Config.Policies order.
var matrixColors = []color.Color{
	color.RGBA{R: 24, G: 90, B: 169, A: 255},  // blue
	color.RGBA{R: 230, G: 110, B: 20, A: 255}, // orange
	color.RGBA{R: 0, G: 140, B: 72, A: 255},   // green
	color.RGBA{R: 102, G: 44, B: 145, A: 255}, // purple
	color.RGBA{R: 180, G: 56, B: 148, A: 255}, // pink
	color.RGBA{R: 0, G: 150, B: 170, A: 255},  // teal
	color.RGBA{R: 150, G: 110, B: 40, A: 255}, // brown
	color.RGBA{R: 210, G: 30, B: 40, A: 255},  // red
}

// glyphs are the marker shapes of the policies, in Config.Policies order.
var glyphs = []draw.GlyphDrawer{draw.CircleGlyph{}, draw.SquareGlyph{}, draw.TriangleGlyph{}, draw.CrossGlyph{},
	draw.PyramidGlyph{}, draw.PlusGlyph{}, draw.RingGlyph{}, draw.BoxGlyph{}}

// matrixPanels returns one scatter panel per trace: feasible attainment (percent) against the
// cost ratio to oracle-warm, one point per policy and cell, with the verdict's thresholds.
func matrixPanels(m Matrix) []panel {
	cfg := m.Config
	var panels []panel
	for _, t := range cfg.Traces {
		name := t.Name()
		p := plot.New()
		p.Title.Text = fmt.Sprintf("%s: feasible SLO attainment against cost, every cell", name)
		p.X.Label.Text = "cost / oracle-warm plan"
		p.Y.Label.Text = "feasible SLO attainment (%)"
		p.Add(plotter.NewGrid())
		// The legend sits inside the plot, bottom right: costly and failing, the corner a good
		// policy stays out of. Knob names are long for the side legend of the other figures.
		p.Legend.Top, p.Legend.Left = false, false
		p.Legend.TextStyle.Font.Size = vg.Points(10)
		p.Legend.Padding = vg.Points(3)
		xmin, xmax, ymin := cfg.MeetsCostRatio, cfg.MeetsCostRatio, 100*cfg.MeetsAttainment
		for pi, pname := range cfg.Policies {
			var xys plotter.XYs
			for _, c := range m.Cells {
				if c.TraceName != name {
					continue
				}
				r := c.Comparison.Policies[pi]
				xys = append(xys, plotter.XY{X: r.CostRatioToOracleWarm, Y: 100 * r.Score.FeasibleAttainment})
				xmin, xmax, ymin = math.Min(xmin, r.CostRatioToOracleWarm), math.Max(xmax, r.CostRatioToOracleWarm), math.Min(ymin, 100*r.Score.FeasibleAttainment)
			}
			if len(xys) == 0 {
				continue
			}
			s, err := plotter.NewScatter(xys)
			if err != nil {
				continue
			}
			s.GlyphStyle = draw.GlyphStyle{Color: matrixColors[pi%len(matrixColors)], Radius: vg.Points(3.5), Shape: glyphs[pi%len(glyphs)]}
			p.Add(s)
			p.Legend.Add(pname, s)
		}
		pad := 0.05 * (xmax - xmin + 0.1)
		p.X.Min, p.X.Max = math.Max(0, xmin-pad), xmax+pad
		p.Y.Min, p.Y.Max = math.Max(0, ymin-0.05*(100-ymin+1)), 100+0.02*(100-ymin+1)
		for _, line := range []*plotter.Line{
			thresholdLine(plotter.XYs{{X: p.X.Min, Y: 100 * cfg.MeetsAttainment}, {X: p.X.Max, Y: 100 * cfg.MeetsAttainment}}),
			thresholdLine(plotter.XYs{{X: cfg.MeetsCostRatio, Y: p.Y.Min}, {X: cfg.MeetsCostRatio, Y: p.Y.Max}}),
		} {
			p.Add(line)
		}
		panels = append(panels, panel{plot: p, legend: plot.NewLegend()})
	}
	return panels
}

// thresholdLine draws a dashed grey line through xys.
func thresholdLine(xys plotter.XYs) *plotter.Line {
	l := &plotter.Line{XYs: xys}
	l.LineStyle = draw.LineStyle{Color: color.Color(gray), Width: vg.Points(1), Dashes: []vg.Length{vg.Points(5), vg.Points(3)}}
	return l
}
