package promsource

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/collector"
)

// peakHeap samples the heap every millisecond until stop is called, and returns the largest
// HeapInuse seen above the HeapInuse at the start.
func peakHeap() (stop func() uint64) {
	var (
		wg   sync.WaitGroup
		peak uint64
		done = make(chan struct{})
		ms   runtime.MemStats
	)
	runtime.ReadMemStats(&ms)
	base := ms.HeapInuse
	wg.Go(func() {
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapInuse)
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	})
	return func() uint64 { close(done); wg.Wait(); return peak - min(peak, base) }
}

// BenchmarkCollectHugeResponse is one collection against a Prometheus answering each of the
// five queries with the given number of series (125 bytes of JSON each), with the limits
// effectively off (math.MaxInt64 bytes and math.MaxInt series) and with the defaults.
// peak-heap-MiB is the largest HeapInuse sampled every millisecond during the run, above the
// heap in use before it (which holds the server's bodies).
func BenchmarkCollectHugeResponse(b *testing.B) {
	fx := newServingFixture(b, hugeModel)
	f := startVectorServer(b, fx.target.ModelID, fx.pods...)
	off := Config{MaxResponseBytes: math.MaxInt64, MaxSeries: math.MaxInt}
	for _, bc := range []struct {
		series int
		limits string
		cfg    Config
	}{
		{20_000, "default", Config{}}, // 10,000 variants of 2 pods
		{DefaultMaxSeries, "default", Config{}},
		{100_000, "off", off},
		{100_000, "default", Config{}},
	} {
		b.Run(fmt.Sprintf("series=%d/limits=%s", bc.series, bc.limits), func(b *testing.B) {
			f.setExtra(allQueries(bc.series - len(fx.pods)))
			src := f.source(b, bc.cfg)
			now := time.Now().Truncate(time.Second)
			if _, err := src.Collect(context.Background(), []collector.Target{fx.target}, now); err != nil {
				b.Logf("Collect: %v", err) // and render the bodies before measuring
			}
			runtime.GC()
			stop := peakHeap()
			var failed int
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if _, err := src.Collect(context.Background(), []collector.Target{fx.target}, now); err != nil {
					failed++
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(stop())/(1<<20), "peak-heap-MiB")
			b.ReportMetric(float64(failed)/float64(b.N), "errors/op")
		})
	}
}
