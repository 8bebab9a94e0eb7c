package limiter

import (
	"fmt"
	"testing"
)

// BenchmarkAllocate shares 4 accelerator pools and 20 namespace quotas among 1,000 variants of
// 3 priorities, each wanting up to 20 one- or two-GPU replicas, with demand about twice the supply.
func BenchmarkAllocate(b *testing.B) {
	pools := map[string]Pool{}
	for a := range 4 {
		pools[fmt.Sprintf("inv/%d", a)] = Pool{GPUs: 2500, Description: "inventory"}
	}
	for q := range 20 {
		pools[fmt.Sprintf("quota/%d", q)] = Pool{GPUs: 600, Description: "quota"}
	}
	demands := make([]Demand, 1000)
	for i := range demands {
		demands[i] = Demand{Variant: fmt.Sprintf("v%04d", i), Priority: i % 3, GPUsPerReplica: 1 + i%2,
			Pools: []string{fmt.Sprintf("inv/%d", i%4), fmt.Sprintf("quota/%d", i%20)}, Min: 1, Max: 20, Want: 5 + i%16}
	}
	b.ReportAllocs()
	for b.Loop() {
		Allocate(demands, pools)
	}
}
