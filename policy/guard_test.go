package policy

import "testing"

func TestSLOGuard(t *testing.T) {
	burning := Observation{P95Latency: 14, Waiting: 30, Ready: 7, Desired: 7}
	for _, tc := range []struct {
		name       string
		guard      SLOGuard
		obs        Observation
		desired    int32
		hi         int32
		want       int32
		wantRaised bool
	}{
		{"holding while the SLO burns gets one replica more than Ready", SLOGuard{10}, burning, 7, 20, 8, true},
		{"a scale-down while the SLO burns is raised too", SLOGuard{10}, burning, 5, 20, 8, true},
		{"a scale-up past the floor is the policy's", SLOGuard{10}, burning, 11, 20, 11, false},
		{"replicas already starting count: spec above Ready+1 stands", SLOGuard{10}, Observation{P95Latency: 14, Waiting: 30, Ready: 3, Desired: 9}, 9, 20, 9, false},
		{"nothing Ready: at least one", SLOGuard{10}, Observation{P95Latency: 30, Waiting: 5}, 0, 20, 1, true},
		{"the floor is clamped to the maximum", SLOGuard{10}, burning, 7, 7, 7, false},
		{"slow but nothing waiting: the replicas keep up", SLOGuard{10}, Observation{P95Latency: 14, Ready: 7}, 6, 20, 6, false},
		{"exactly at the SLO is not over it", SLOGuard{10}, Observation{P95Latency: 10, Waiting: 30, Ready: 7}, 7, 20, 7, false},
		{"off", SLOGuard{}, burning, 5, 20, 5, false},
		// 7 Ready replicas complete 21 requests/s; the rate and 20 waiting
		// within 10 s need ceil(7 * (1 + 20 / (21 * 10))) = ceil(7.67) = 8:
		// one more than Ready.
		{"a short queue: one more than Ready", SLOGuard{10}, Observation{P95Latency: 14, Waiting: 20, RequestRate: 21, Ready: 7}, 7, 20, 8, true},
		// 1 Ready replica completing 3/s with 300 waiting:
		// ceil(1 * (1 + 300 / 30)) = 11.
		{"a cold start's backlog is sized in one decision", SLOGuard{10}, Observation{P95Latency: 40, Waiting: 300, RequestRate: 3, Ready: 1}, 1, 20, 11, true},
		// The same backlog drained within 5 s: ceil(1 * (1 + 300 / 15)) = 21.
		{"a tighter SLO drains faster", SLOGuard{5}, Observation{P95Latency: 40, Waiting: 300, RequestRate: 3, Ready: 1}, 1, 30, 21, true},
		{"the backlog's floor is clamped to the maximum", SLOGuard{10}, Observation{P95Latency: 40, Waiting: 1e12, RequestRate: 0.5, Ready: 1}, 3, 20, 20, true},
		{"nothing completing: one more than Ready", SLOGuard{10}, Observation{P95Latency: 40, Waiting: 300, Ready: 2}, 2, 20, 3, true},
		// ceil(2 * (1 + 110 / 100)) = ceil(4.2) = 5, below the policy's 6.
		{"a scale-up past the backlog's floor is the policy's", SLOGuard{10}, Observation{P95Latency: 14, Waiting: 110, RequestRate: 10, Ready: 2}, 6, 20, 6, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, raised := tc.guard.Apply(tc.obs, tc.desired, tc.hi)
			if got != tc.want || raised != tc.wantRaised {
				t.Errorf("Apply(%+v, %d, %d) = %d, %v; want %d, %v", tc.obs, tc.desired, tc.hi, got, raised, tc.want, tc.wantRaised)
			}
		})
	}
}
