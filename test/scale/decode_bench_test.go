package scale

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	promapi "github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"

	promsource "github.com/llm-d-incubation/workload-variant-autoscaler/internal/collector/prometheus"
)

// BenchmarkQueryDecode measures what one cycle's queries cost the manager's side at the
// harness's fleet sizes, with the default analyzer's query set: the fake's answers fetched
// over loopback HTTP and decoded by client_golang, all queries in parallel as the collector
// runs them. The fake's encoding runs in the same process and is included. client=wva is the
// manager's client (promsource.NewAPI, one decoding pass), client=promv1 client_golang's.
func BenchmarkQueryDecode(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("variants=%d", n), func(b *testing.B) {
			pods := make([]benchPod, n)
			models := map[string]bool{}
			var nss []string
			for i := range n {
				pods[i] = benchPod{namespace: nsNames()[(i/variantsPerModel)%namespaces], name: fmt.Sprintf("vllm-%05d-0", i), model: modelOf(i)}
				models[pods[i].model] = true
				if !slices.Contains(nss, pods[i].namespace) {
					nss = append(nss, pods[i].namespace)
				}
			}
			p := newFakeProm(pods, 0)
			defer p.close()
			c, err := promapi.NewClient(promapi.Config{Address: p.srv.URL})
			if err != nil {
				b.Fatal(err)
			}
			wva, err := promsource.NewAPI(promsource.Config{BaseURL: p.srv.URL, AllowHTTP: true})
			if err != nil {
				b.Fatal(err)
			}
			clients := map[string]promsource.QueryAPI{"wva": wva, "promv1": promv1.NewAPI(c)}
			sel := promsource.Selector{Namespaces: nss}
			for m := range models {
				sel.Models = append(sel.Models, m)
			}
			var queries []string
			for _, q := range promsource.BuildQueries(sel, time.Minute) {
				switch q.Name {
				case promsource.QueryRunningMean, promsource.QueryITLMedian, promsource.QueryPrefillMean, promsource.QueryPodPromptMean, promsource.QueryPodFinishRate:
					continue // the slo analyzer's only
				}
				queries = append(queries, q.PromQL)
			}
			for _, q := range promsource.BuildModelQueries(sel, time.Minute, promsource.DefaultGatewayMetric) {
				switch q.Name {
				case promsource.QueryTTFTBuckets, promsource.QueryITLBuckets, promsource.QueryRequestTPOTBuckets, promsource.QueryOutputLengthBuckets:
					continue
				}
				queries = append(queries, q.PromQL)
			}
			for _, name := range []string{"wva", "promv1"} {
				api := clients[name]
				b.Run("client="+name, func(b *testing.B) {
					b.ReportAllocs()
					for b.Loop() {
						var wg sync.WaitGroup
						for _, q := range queries {
							wg.Go(func() {
								if _, _, _, err := api.Query(context.Background(), q, time.Now()); err != nil {
									b.Error(err)
								}
							})
						}
						wg.Wait()
					}
				})
			}
		})
	}
}
