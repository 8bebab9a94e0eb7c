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
)

// Names of the plot files WriteReport writes.
const (
	ArrivalsPlot = "arrivals.png"
	ReplicasPlot = "replicas.png"
	TTFTPlot     = "ttft.png"
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

// writePlots writes the arrival-rate, replicas and TTFT plots of c into dir.
func writePlots(dir string, c Comparison) error {
	minutes := c.Duration.Minutes()
	if err := savePanels(filepath.Join(dir, ArrivalsPlot), []panel{arrivalsPanel(c, minutes)}, 3*vg.Inch); err != nil {
		return err
	}
	if err := savePanels(filepath.Join(dir, ReplicasPlot), replicasPanels(c, minutes), panelHeight); err != nil {
		return err
	}
	return savePanels(filepath.Join(dir, TTFTPlot), ttftPanels(c, minutes), panelHeight)
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

// replicasPanels returns one panel per policy with the replicas (solid) and ready replicas
// (dashed) of each variant over time, on a shared y range.
func replicasPanels(c Comparison, minutes float64) []panel {
	top := 1
	for _, r := range c.Policies {
		for _, t := range r.Timeline {
			for _, v := range t.Variants {
				top = max(top, v.Replicas, v.Ready)
			}
		}
	}
	panels := make([]panel, 0, len(c.Policies))
	for _, r := range c.Policies {
		p := newPanel(fmt.Sprintf("Replicas, %s: feasible SLO met %.1f%%, $%.2f (%.2f× oracle-warm)",
			r.Name, 100*r.Score.FeasibleAttainment, r.Score.Cost, r.CostRatioToOracleWarm), "replicas", minutes)
		p.plot.Y.Min, p.plot.Y.Max = 0, float64(top)+0.3
		p.plot.Y.Tick.Marker = integerTicks{}
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
			solid, dashed := stepLine(replicas, colorAt(i), false), stepLine(ready, colorAt(i), true)
			p.plot.Add(solid, dashed)
			p.legend.Add(v.Name+" replicas", solid)
			p.legend.Add(v.Name+" ready", dashed)
		}
		panels = append(panels, p)
	}
	return panels
}

// ttftPanels returns one panel per policy with the p50 and p99 TTFT of each arrival minute, on a
// shared logarithmic y range, and the SLO's TTFT target. The y values are log10(seconds) on a
// linear axis with ticks labelled in seconds (gonum's log scale misplaces the axis label).
func ttftPanels(c Comparison, minutes float64) []panel {
	slo := c.Config.SLO.TTFT.Seconds()
	lo, hi := slo, slo
	for _, r := range c.Policies {
		for _, m := range r.TTFT {
			lo, hi = math.Min(lo, m.P50.Seconds()), math.Max(hi, m.P99.Seconds())
		}
	}
	lo = math.Floor(math.Log10(math.Max(lo, 1e-3)))
	hi = math.Ceil(math.Log10(hi))
	panels := make([]panel, 0, len(c.Policies))
	for _, r := range c.Policies {
		p := newPanel(fmt.Sprintf("TTFT by arrival minute, %s: p99 over the run %s, SLO met %.1f%%",
			r.Name, seconds(r.Score.TTFTP99), 100*r.Score.SLOAttainment), "TTFT (s, log scale)", minutes)
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
			xys := make(plotter.XYs, 0, len(r.TTFT)+1)
			for _, m := range r.TTFT {
				xys = append(xys, plotter.XY{X: float64(m.Minute), Y: math.Max(math.Log10(q.value(m).Seconds()), lo)})
			}
			if len(xys) == 0 {
				continue
			}
			xys = append(xys, plotter.XY{X: xys[len(xys)-1].X + 1, Y: xys[len(xys)-1].Y})
			l := stepLine(xys, q.color, false)
			p.plot.Add(l)
			p.legend.Add(q.name, l)
		}
		target := plotter.NewFunction(func(float64) float64 { return math.Log10(slo) })
		target.Color, target.Width, target.Dashes = gray, vg.Points(1.5), []vg.Length{vg.Points(6), vg.Points(3)}
		p.plot.Add(target)
		p.legend.Add(fmt.Sprintf("SLO %s", c.Config.SLO.TTFT), target)
		panels = append(panels, p)
	}
	return panels
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

// legendRoom is the width kept right of the panels for their legends.
const legendRoom = 1.4 * vg.Inch

// savePanels stacks the panels vertically, each panelH high with its legend on its right, and
// writes them as a PNG file.
func savePanels(path string, panels []panel, panelH vg.Length) (err error) {
	img := vgimg.NewWith(vgimg.UseWH(plotWidth, panelH*vg.Length(len(panels))), vgimg.UseDPI(plotDPI))
	dc := draw.New(img)
	pad := vg.Points(6)
	tiles := draw.Tiles{Rows: len(panels), Cols: 1, PadTop: pad, PadBottom: pad, PadLeft: pad, PadRight: legendRoom, PadY: 2 * pad}
	for i, p := range panels {
		c := tiles.At(dc, 0, i)
		p.plot.Draw(c)
		top := c.Max.Y - p.plot.Title.TextStyle.Rectangle(p.plot.Title.Text).Size().Y - p.plot.Title.Padding - pad
		p.legend.Draw(draw.Canvas{Canvas: dc.Canvas, Rectangle: vg.Rectangle{
			Min: vg.Point{X: c.Max.X + 2*pad, Y: c.Min.Y},
			Max: vg.Point{X: dc.Max.X, Y: top},
		}})
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
