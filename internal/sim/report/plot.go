package report

import (
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/defaults"
	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/sim"
)

// Names of the plot files WriteReport writes.
const (
	ArrivalsPlot = "arrivals.png"
	ReplicasPlot = "replicas.png"
	LatencyPlot  = "latency.png"
)

// Plot geometry: one panel per policy, stacked, on a page plotWidth wide.
const (
	plotDPI     = 96
	plotWidth   = 10 * vg.Inch
	panelHeight = 2.4 * vg.Inch
)

// palette colours the variants (in scenario order) and the TTFT percentiles.
var palette = []color.Color{
	color.RGBA{R: 24, G: 90, B: 169, A: 255},  // blue
	color.RGBA{R: 230, G: 110, B: 20, A: 255}, // orange
	color.RGBA{R: 0, G: 140, B: 72, A: 255},   // green
	color.RGBA{R: 102, G: 44, B: 145, A: 255}, // purple
	color.RGBA{R: 180, G: 56, B: 148, A: 255}, // pink
}

var (
	red  = color.RGBA{R: 210, G: 30, B: 40, A: 255}
	gray = color.RGBA{R: 110, G: 110, B: 110, A: 255}
)

func colorAt(i int) color.Color { return palette[i%len(palette)] }

// panel is one plot of a figure with its legend, drawn to the right of the plot.
type panel struct {
	plot   *plot.Plot
	legend plot.Legend
}

// writePlots writes the arrival-rate, replicas-and-signals and latency plots of c into dir.
func writePlots(dir string, c Comparison) error {
	minutes := c.Duration.Minutes()
	if err := saveRows(filepath.Join(dir, ArrivalsPlot), []row{{height: 3 * vg.Inch, panels: []panel{arrivalsPanel(c, minutes)}}}); err != nil {
		return err
	}
	if err := saveRows(filepath.Join(dir, ReplicasPlot), replicaRows(c, minutes)); err != nil {
		return err
	}
	return saveRows(filepath.Join(dir, LatencyPlot), latencyRows(c, minutes))
}

// newPanel returns a panel with a title, a time axis over [0, minutes] in minutes, a y label and
// an empty legend.
func newPanel(title, ylabel string, minutes float64) panel {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "time (minutes from the start of the trace)"
	p.X.Min, p.X.Max = 0, minutes
	p.X.Tick.Marker = minuteTicks{}
	p.Y.Label.Text = ylabel
	p.Add(plotter.NewGrid())
	l := plot.NewLegend()
	l.Top, l.Left = true, true
	l.TextStyle.Font.Size = vg.Points(10)
	l.ThumbnailWidth = vg.Points(24)
	l.Padding = vg.Points(2)
	return panel{plot: p, legend: l}
}

// arrivalsPanel is the arrival rate of each minute in requests per second.
func arrivalsPanel(c Comparison, minutes float64) panel {
	p := newPanel(fmt.Sprintf("Arrival rate of %s, mean of each minute", c.Name), "arrival rate (req/s)", minutes)
	xys := make(plotter.XYs, 0, len(c.ArrivalsPerMinute)+1)
	for m, n := range c.ArrivalsPerMinute {
		xys = append(xys, plotter.XY{X: float64(m), Y: float64(n) / 60})
	}
	if n := len(c.ArrivalsPerMinute); n > 0 {
		xys = append(xys, plotter.XY{X: float64(n), Y: xys[n-1].Y})
	}
	p.plot.Y.Min = 0
	l := stepLine(xys, colorAt(0), false)
	l.FillColor = color.NRGBA{R: 24, G: 90, B: 169, A: 50}
	p.plot.Add(l)
	return p
}

// Heights of the rows of the replicas figure: per policy its replicas, demand and KV panels.
const (
	replicasHeight = 2.3 * vg.Inch
	demandHeight   = 1.8 * vg.Inch
	kvHeight       = 1.5 * vg.Inch
)

// replicaRows returns, per policy, its replicas panel and under it its signals: demand against
// provisioned capacity with the queue, and the KV-cache usage of each variant. Each kind of
// panel shares its y range over the policies.
func replicaRows(c Comparison, minutes float64) []row {
	top, demandTop := 1, 1.0
	for _, r := range c.Policies {
		for _, t := range r.Timeline {
			d, cp := demandAndCapacity(c, t)
			demandTop = math.Max(demandTop, math.Max(d, cp))
			for _, v := range t.Variants {
				top = max(top, v.Replicas, v.Ready)
			}
		}
	}
	kvThreshold := defaults.Shipped().Saturation.KvCacheThreshold
	rows := make([]row, 0, 3*len(c.Policies))
	for _, r := range c.Policies {
		p := newPanel(fmt.Sprintf("Replicas, %s: feasible SLO met %.1f%%, $%.2f (%.2f× oracle-warm)",
			r.Name, 100*r.Score.FeasibleAttainment, r.Score.Cost, r.CostRatioToOracleWarm), "replicas", minutes)
		p.plot.Y.Min, p.plot.Y.Max = 0, float64(top)+0.3
		p.plot.Y.Tick.Marker = integerTicks{}
		var thick, thin []*plotter.Line
		for i, v := range c.Variants {
			replicas := make(plotter.XYs, 0, len(r.Timeline))
			ready := make(plotter.XYs, 0, len(r.Timeline))
			for _, t := range r.Timeline {
				x := t.At.Minutes()
				replicas = append(replicas, plotter.XY{X: x, Y: float64(t.Variants[i].Replicas)})
				ready = append(ready, plotter.XY{X: x, Y: float64(t.Variants[i].Ready)})
			}
			if len(replicas) == 0 {
				continue
			}
			spec, serving := variantLine(replicas, i), readyLine(ready, i)
			thick, thin = append(thick, spec), append(thin, serving)
			p.legend.Add(v.Name+" replicas", spec)
			p.legend.Add(v.Name+" ready", serving)
		}
		// The thick lines first, so that the thin ones stay visible on top.
		for _, l := range append(thick, thin...) {
			p.plot.Add(l)
		}

		d := newPanel(fmt.Sprintf("Signals, %s: requests in the system against what the ready replicas hold", r.Name), "requests", minutes)
		d.plot.Y.Min, d.plot.Y.Max = 0, demandTop*1.05
		var demand, capacity, queue plotter.XYs
		for _, t := range r.Timeline {
			x := t.At.Minutes()
			dm, cp := demandAndCapacity(c, t)
			q := float64(t.Pending)
			for _, v := range t.Variants {
				q += float64(v.Waiting)
			}
			demand = append(demand, plotter.XY{X: x, Y: dm})
			capacity = append(capacity, plotter.XY{X: x, Y: cp})
			queue = append(queue, plotter.XY{X: x, Y: q})
		}
		if len(demand) > 0 {
			capLine := stepLine(capacity, gray, false)
			capLine.Width = vg.Points(2.5)
			capLine.FillColor = color.NRGBA{R: 110, G: 110, B: 110, A: 40}
			demLine := stepLine(demand, colorAt(2), false)
			qLine := stepLine(queue, red, false)
			qLine.Width, qLine.Dashes = vg.Points(1), []vg.Length{vg.Points(3), vg.Points(2)}
			d.plot.Add(capLine, demLine, qLine)
			d.legend.Add("capacity", capLine)
			d.legend.Add("demand", demLine)
			d.legend.Add("queued", qLine)
		}

		k := newPanel(fmt.Sprintf("Signals, %s: mean KV-cache usage of the ready replicas", r.Name), "KV usage", minutes)
		k.plot.Y.Min, k.plot.Y.Max = 0, 1.05
		for i, v := range c.Variants {
			xys := make(plotter.XYs, 0, len(r.Timeline))
			for _, t := range r.Timeline {
				if t.Variants[i].Ready > 0 {
					xys = append(xys, plotter.XY{X: t.At.Minutes(), Y: t.Variants[i].KVUsage})
				}
			}
			if len(xys) == 0 {
				continue
			}
			l := variantLine(xys, i)
			l.Width = vg.Points(1.5)
			l.StepStyle = plotter.NoStep
			k.plot.Add(l)
			k.legend.Add(v.Name, l)
		}
		th := plotter.NewFunction(func(float64) float64 { return kvThreshold })
		th.Color, th.Width, th.Dashes = gray, vg.Points(1), []vg.Length{vg.Points(6), vg.Points(3)}
		k.plot.Add(th)
		k.legend.Add(fmt.Sprintf("threshold %.2f", kvThreshold), th)

		rows = append(rows, row{height: replicasHeight, panels: []panel{p}},
			row{height: demandHeight, panels: []panel{d}}, row{height: kvHeight, panels: []panel{k}})
	}
	return rows
}

// demandAndCapacity returns the requests in the system at t (running and waiting on every
// replica, and pending in the router) and the provisioned capacity: the ready replicas of each
// variant times its ReplicaCapacity.
func demandAndCapacity(c Comparison, t sim.TickRecord) (demand, capacity float64) {
	demand = float64(t.Pending)
	for i, v := range t.Variants {
		demand += float64(v.Running + v.Waiting)
		if i < len(c.ReplicaCapacity) {
			capacity += float64(v.Ready) * c.ReplicaCapacity[i]
		}
	}
	return demand, capacity
}

// variantDashes are the dash patterns of the variants, in order: solid, long dashes, short
// dashes, dash-dot.
var variantDashes = [][]vg.Length{
	nil,
	{vg.Points(8), vg.Points(3)},
	{vg.Points(3), vg.Points(2)},
	{vg.Points(8), vg.Points(2), vg.Points(2), vg.Points(2)},
}

// variantLine draws the replicas of variant i: its colour, its dash pattern and a width that
// decreases with i, so that variants with the same count stay visible on top of one another.
func variantLine(xys plotter.XYs, i int) *plotter.Line {
	l := stepLine(xys, colorAt(i), false)
	l.Width = vg.Points(math.Max(3.5-1.1*float64(i), 1.3))
	l.Dashes = variantDashes[i%len(variantDashes)]
	return l
}

// readyLine draws the ready replicas of variant i: a thin dotted line of its colour.
func readyLine(xys plotter.XYs, i int) *plotter.Line {
	l := stepLine(xys, colorAt(i), false)
	l.Width = vg.Points(1)
	l.Dashes = []vg.Length{vg.Points(1.5), vg.Points(2)}
	return l
}

// latencyRows returns one row per policy: its TTFT panel and, next to it, its ITL panel.
func latencyRows(c Comparison, minutes float64) []row {
	ttft := latencyPanels(c, minutes, "TTFT", c.Config.SLO.TTFT, func(r PolicyRun) ([]MinuteLatency, time.Duration) {
		return r.TTFT, r.Score.TTFTP99
	})
	itl := latencyPanels(c, minutes, "mean ITL", c.Config.SLO.ITL, func(r PolicyRun) ([]MinuteLatency, time.Duration) {
		return r.ITL, r.Score.ITLP99
	})
	rows := make([]row, len(c.Policies))
	for i := range c.Policies {
		rows[i] = row{height: panelHeight, panels: []panel{ttft[i], itl[i]}}
	}
	return rows
}

// latencyPanels returns one panel per policy with the p50 and p99 of a latency (of) by arrival
// minute, on a shared logarithmic y range, and the SLO's target. The y values are log10(seconds)
// on a linear axis with ticks labelled in seconds (gonum's log scale misplaces the axis label).
func latencyPanels(c Comparison, minutes float64, what string, target time.Duration, of func(PolicyRun) ([]MinuteLatency, time.Duration)) []panel {
	slo := target.Seconds()
	lo, hi := slo, slo
	for _, r := range c.Policies {
		ms, _ := of(r)
		for _, m := range ms {
			lo, hi = math.Min(lo, m.P50.Seconds()), math.Max(hi, m.P99.Seconds())
		}
	}
	lo = math.Floor(math.Log10(math.Max(lo, 1e-3)))
	hi = math.Ceil(math.Log10(hi))
	if hi <= lo {
		hi = lo + 1
	}
	panels := make([]panel, 0, len(c.Policies))
	for _, r := range c.Policies {
		ms, p99 := of(r)
		p := newPanel(fmt.Sprintf("%s by arrival minute, %s (p99 %s)", what, r.Name, latencyString(p99)),
			what+" (s, log scale)", minutes)
		p.plot.Title.TextStyle.Font.Size = vg.Points(11)
		p.plot.Y.Min, p.plot.Y.Max = lo, hi
		p.plot.Y.Tick.Marker = log10Ticks{}
		for _, q := range []struct {
			name  string
			color color.Color
			value func(MinuteLatency) time.Duration
		}{
			{"p99", red, func(m MinuteLatency) time.Duration { return m.P99 }},
			{"p50", colorAt(0), func(m MinuteLatency) time.Duration { return m.P50 }},
		} {
			xys := make(plotter.XYs, 0, len(ms)+1)
			for _, m := range ms {
				xys = append(xys, plotter.XY{X: float64(m.Minute), Y: math.Max(math.Log10(math.Max(q.value(m).Seconds(), 1e-9)), lo)})
			}
			if len(xys) == 0 {
				continue
			}
			xys = append(xys, plotter.XY{X: xys[len(xys)-1].X + 1, Y: xys[len(xys)-1].Y})
			l := stepLine(xys, q.color, false)
			p.plot.Add(l)
			p.legend.Add(q.name, l)
		}
		line := plotter.NewFunction(func(float64) float64 { return math.Log10(slo) })
		line.Color, line.Width, line.Dashes = gray, vg.Points(1.5), []vg.Length{vg.Points(6), vg.Points(3)}
		p.plot.Add(line)
		p.legend.Add(fmt.Sprintf("SLO %s", target), line)
		panels = append(panels, p)
	}
	return panels
}

// latencyString formats d in seconds above one second, else in milliseconds.
func latencyString(d time.Duration) string {
	if d >= time.Second {
		return seconds(d)
	}
	return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond))
}

// stepLine draws xys as a step function (each value holds until the next point).
func stepLine(xys plotter.XYs, c color.Color, dashed bool) *plotter.Line {
	l := &plotter.Line{XYs: xys, StepStyle: plotter.PostStep}
	l.LineStyle = draw.LineStyle{Color: c, Width: vg.Points(1.5)}
	if dashed {
		l.Width = vg.Points(1)
		l.Dashes = []vg.Length{vg.Points(4), vg.Points(2)}
	}
	return l
}

// minuteTicks labels every 10 minutes, with minor ticks every 5.
type minuteTicks struct{}

// Ticks implements plot.Ticker.
func (minuteTicks) Ticks(lo, hi float64) []plot.Tick {
	var ticks []plot.Tick
	for v := 5 * math.Ceil(lo/5); v <= hi; v += 5 {
		t := plot.Tick{Value: v}
		if math.Mod(v, 10) == 0 {
			t.Label = fmt.Sprint(v)
		}
		ticks = append(ticks, t)
	}
	return ticks
}

// integerTicks labels whole numbers, about six of them.
type integerTicks struct{}

// Ticks implements plot.Ticker.
func (integerTicks) Ticks(lo, hi float64) []plot.Tick {
	step := max(1, int(math.Ceil((hi-lo)/6)))
	var ticks []plot.Tick
	for v := int(math.Ceil(lo)); float64(v) <= hi; v++ {
		if v%step == 0 {
			ticks = append(ticks, plot.Tick{Value: float64(v), Label: fmt.Sprint(v)})
		}
	}
	return ticks
}

// log10Ticks labels the powers of ten of an axis of log10 values in plain numbers, with minor
// ticks at 2 to 9 times each power.
type log10Ticks struct{}

// Ticks implements plot.Ticker.
func (log10Ticks) Ticks(lo, hi float64) []plot.Tick {
	var ticks []plot.Tick
	for e := math.Floor(lo); e <= hi; e++ {
		ticks = append(ticks, plot.Tick{Value: e, Label: strconv.FormatFloat(math.Pow(10, e), 'f', -1, 64)})
		for k := 2.0; k < 10; k++ {
			if v := e + math.Log10(k); v <= hi {
				ticks = append(ticks, plot.Tick{Value: v})
			}
		}
	}
	return ticks
}

// legendRoom is the width kept right of each panel for its legend.
const legendRoom = 1.4 * vg.Inch

// row is one row of a figure: panels side by side, each with its legend on its right.
type row struct {
	height vg.Length
	panels []panel
}

// saveRows stacks the rows vertically and writes them as a PNG file.
func saveRows(path string, rows []row) (err error) {
	var total vg.Length
	for _, r := range rows {
		total += r.height
	}
	img := vgimg.NewWith(vgimg.UseWH(plotWidth, total), vgimg.UseDPI(plotDPI))
	dc := draw.New(img)
	pad := vg.Points(6)
	y := dc.Max.Y
	for _, r := range rows {
		w := (dc.Max.X - dc.Min.X) / vg.Length(len(r.panels))
		for j, p := range r.panels {
			x0 := dc.Min.X + vg.Length(j)*w
			c := draw.Canvas{Canvas: dc.Canvas, Rectangle: vg.Rectangle{
				Min: vg.Point{X: x0 + pad, Y: y - r.height + pad},
				Max: vg.Point{X: x0 + w - legendRoom, Y: y - pad},
			}}
			p.plot.Draw(c)
			top := c.Max.Y - p.plot.Title.TextStyle.Rectangle(p.plot.Title.Text).Size().Y - p.plot.Title.Padding - pad
			p.legend.Draw(draw.Canvas{Canvas: dc.Canvas, Rectangle: vg.Rectangle{
				Min: vg.Point{X: c.Max.X + 2*pad, Y: c.Min.Y},
				Max: vg.Point{X: x0 + w, Y: top},
			}})
		}
		y -= r.height
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("writing plot: %w", err)
	}
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("writing plot %s: %w", path, cerr)
		}
	}()
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(f); err != nil {
		return fmt.Errorf("writing plot %s: %w", path, err)
	}
	return nil
}

// savePanels stacks the panels vertically, each panelH high with its legend on its right, and
// writes them as a PNG file.
func savePanels(path string, panels []panel, panelH vg.Length) error {
	rows := make([]row, len(panels))
	for i, p := range panels {
		rows[i] = row{height: panelH, panels: []panel{p}}
	}
	return saveRows(path, rows)
}
