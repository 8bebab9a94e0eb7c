package promsource

import (
	"context"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/llm-d-incubation/workload-variant-autoscaler/internal/collector"
)

// peakHeap samples the live heap every millisecond until stop is called, and returns the
// largest HeapInuse seen.
func peakHeap() (stop func() uint64) {
	var (
		wg   sync.WaitGroup
		peak uint64
		done = make(chan struct{})
	)
	wg.Go(func() {
		var ms runtime.MemStats
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
	return func() uint64 { close(done); wg.Wait(); return peak }
}

// BenchmarkCollectHugeResponse is one collection against a Prometheus answering 100,000 series
// to each of the five queries (about 12 MiB of JSON per query).
func BenchmarkCollectHugeResponse(b *testing.B) {
	const series = 100_000
	fx := newServingFixture(b, "meta-llama/Llama-3.1-8B-Instruct")
	f := startVectorServer(b, fx.target.ModelID, fx.pods...)
	f.setExtra(allQueries(series))
	for name, cfg := range map[string]Config{
		"limits=none": {},
	} {
		b.Run(name, func(b *testing.B) {
			src := f.source(b, cfg)
			now := time.Now().Truncate(time.Second)
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
