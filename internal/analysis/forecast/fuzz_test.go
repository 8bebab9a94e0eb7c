package forecast

import (
	"encoding/binary"
	"math"
	"testing"
	"time"
)

func FuzzForecaster(f *testing.F) {
	f.Add([]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}, int64(15e9))
	f.Add([]byte{0xff, 0xf0, 0, 0, 0, 0, 0, 0x7f, 0, 0, 0, 0, 0, 0, 0xf0, 0x7f}, int64(1))
	f.Fuzz(func(t *testing.T, data []byte, step int64) {
		fc, _ := New(Config{})
		now := t0
		for i := 0; i+8 <= len(data); i += 8 {
			r := math.Float64frombits(binary.LittleEndian.Uint64(data[i:]))
			now = now.Add(time.Duration(step % int64(time.Hour)))
			fc.Observe(now, r)
			p := fc.Forecast(now.Add(time.Duration(step%int64(time.Hour)) * 3))
			for _, v := range []float64{p.Level, p.Expected, p.Margin, p.Planned} {
				if math.IsNaN(v) || v < 0 || v > MaxRate {
					t.Fatalf("forecast %+v", p)
				}
			}
			if math.IsNaN(fc.Trend) || math.IsNaN(fc.Var) || fc.Var < 0 {
				t.Fatalf("state %+v", fc)
			}
		}
	})
}

func BenchmarkObserveForecast(b *testing.B) {
	f, _ := New(Config{})
	now := t0
	i := 0
	for b.Loop() {
		i++
		now = now.Add(15 * time.Second)
		f.Observe(now, float64(10+i%7))
		f.Forecast(now)
	}
}
