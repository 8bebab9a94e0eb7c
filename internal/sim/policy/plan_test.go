package policy

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// bruteForce enumerates every schedule (a replica vector per window, each count up to cap) and
// returns the cheapest cost under the planner's model, computed independently of the planner:
// the fleet of window 0 is free to start with, every later increase of a variant pays its
// start-up time and is allowed only when that start-up fits after time zero.
func bruteForce(windows []planWindow, variants []planVariant, warm bool, limit int) float64 {
	nv := len(variants)
	best := math.Inf(1)
	sched := make([][]int, len(windows))
	for i := range sched {
		sched[i] = make([]int, nv)
	}
	var rec func(wi int, elapsed time.Duration, cost float64)
	rec = func(wi int, elapsed time.Duration, cost float64) {
		if cost >= best {
			return
		}
		if wi == len(windows) {
			best = cost
			return
		}
		x := sched[wi]
		var each func(v int)
		each = func(v int) {
			if v == nv {
				if !windows[wi].mixServes(x) {
					return
				}
				c := cost
				for u, pv := range variants {
					c += float64(x[u]) * pv.costPerHour * windows[wi].length.Hours()
					if warm && wi > 0 {
						if up := x[u] - sched[wi-1][u]; up > 0 {
							if elapsed < pv.startup {
								return
							}
							c += float64(up) * pv.costPerHour * pv.startup.Hours()
						}
					}
				}
				rec(wi+1, elapsed+windows[wi].length, c)
				return
			}
			for n := 0; n <= limit; n++ {
				x[v] = n
				each(v + 1)
			}
		}
		each(0)
	}
	rec(0, 0, 0)
	return best
}

func TestPlanMatchesBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	const limit = 3
	for trial := range 300 {
		nv := 1 + rng.IntN(2)
		nw := 1 + rng.IntN(5)
		variants := make([]planVariant, nv)
		for v := range variants {
			variants[v] = planVariant{costPerHour: float64(1 + rng.IntN(4)), gpus: 1 + rng.IntN(2),
				startup: time.Duration(rng.IntN(8)) * 30 * time.Second}
		}
		windows := make([]planWindow, nw)
		for w := range windows {
			windows[w] = planWindow{length: time.Minute, busy: rng.IntN(5) > 0, need: make([]int, nv)}
			if w == nw-1 && rng.IntN(2) == 0 {
				windows[w].length = 20 * time.Second // a short last window
			}
			usable := false
			for v := range windows[w].need {
				windows[w].need[v] = 1 + rng.IntN(limit)
				if rng.IntN(5) == 0 {
					windows[w].need[v] = unusable
				} else {
					usable = true
				}
			}
			if !usable {
				windows[w].need[0] = 1
			}
		}
		for _, warm := range []bool{false, true} {
			got, err := planSchedule(windows, variants, warm)
			if err != nil {
				t.Fatalf("trial %d warm %v: %v", trial, warm, err)
			}
			want := bruteForce(windows, variants, warm, limit)
			if math.Abs(got.cost-want) > 1e-9 {
				t.Fatalf("trial %d warm %v: planner cost %.6f, brute force %.6f\nvariants %+v\nwindows %+v\nschedule %v",
					trial, warm, got.cost, want, variants, windows, got.replicas)
			}
			// The schedule is feasible and costs what the planner says.
			for wi, w := range windows {
				if !w.mixServes(got.replicas[wi]) {
					t.Fatalf("trial %d: window %d fleet %v does not serve need %v", trial, wi, got.replicas[wi], w.need)
				}
			}
			if c := scheduleTotals(windows, variants, got.replicas, warm, func(pv planVariant) float64 { return pv.costPerHour }); math.Abs(c-got.cost) > 1e-9 {
				t.Fatalf("trial %d: schedule costs %.6f, planner said %.6f", trial, c, got.cost)
			}
		}
	}
}

func TestPlanBridgesGapsShorterThanTheStartup(t *testing.T) {
	// One variant, demand 2, 1, 2 per minute. With a 3-minute start-up, shedding the replica in
	// the quiet minute and starting it again costs 3 minutes to save 1: keep it. Without
	// start-up, shed it.
	w := func(n int) planWindow { return planWindow{length: time.Minute, busy: true, need: []int{n}} }
	windows := []planWindow{w(2), w(1), w(1), w(1), w(1), w(2)}
	cold, err := planSchedule(windows, []planVariant{{costPerHour: 60, gpus: 1}}, false)
	if err != nil {
		t.Fatal(err)
	}
	if got := cold.replicas[1][0]; got != 1 {
		t.Errorf("instant plan keeps %d replicas in the quiet minute, want 1", got)
	}
	warm, err := planSchedule(windows, []planVariant{{costPerHour: 60, gpus: 1, startup: 5 * time.Minute}}, true)
	if err != nil {
		t.Fatal(err)
	}
	for wi := range windows {
		if warm.replicas[wi][0] != 2 {
			t.Errorf("warm plan %v: want 2 replicas throughout (a 4-minute gap is shorter than the 5-minute start-up)", warm.replicas)
			break
		}
	}
	// 6 minutes x 2 replicas x $1 per minute; no start-up paid since both are there at time zero.
	if math.Abs(warm.cost-12) > 1e-9 {
		t.Errorf("warm cost %.4f, want 12", warm.cost)
	}
	shortStart, err := planSchedule(windows, []planVariant{{costPerHour: 60, gpus: 1, startup: 2 * time.Minute}}, true)
	if err != nil {
		t.Fatal(err)
	}
	// Shedding saves 4 minutes and the restart costs 2: shed.
	if got := shortStart.replicas[2][0]; got != 1 {
		t.Errorf("with a 2-minute start-up the plan %v keeps the idle replica", shortStart.replicas)
	}
	if math.Abs(shortStart.cost-(12-4+2)) > 1e-9 {
		t.Errorf("cost %.4f, want 10", shortStart.cost)
	}
}

func TestPlanRefusesAStartBeforeTimeZero(t *testing.T) {
	// Demand jumps at minute 1 but a new replica takes 3 minutes: the only schedules start with
	// the peak fleet at time zero.
	windows := []planWindow{{length: time.Minute, busy: true, need: []int{1}}, {length: time.Minute, busy: true, need: []int{4}}}
	p, err := planSchedule(windows, []planVariant{{costPerHour: 1, gpus: 1, startup: 3 * time.Minute}}, true)
	if err != nil {
		t.Fatal(err)
	}
	if p.replicas[0][0] != 4 {
		t.Errorf("schedule %v, want 4 replicas from time zero", p.replicas)
	}
}

func TestPlanReportsAnUnservableWindow(t *testing.T) {
	windows := []planWindow{{length: time.Minute, busy: true, need: []int{unusable}}}
	if _, err := planSchedule(windows, []planVariant{{costPerHour: 1, gpus: 1}}, true); err == nil || !strings.Contains(err.Error(), "no variant can serve") {
		t.Errorf("error = %v, want the window reported unservable", err)
	}
}
