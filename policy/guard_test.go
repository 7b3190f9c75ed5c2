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
		// 7 Ready replicas running 224 requests hold 32 each; 30 waiting
		// need ceil(7 * 254 / 224) = ceil(7.94) = 8: one more than Ready.
		{"a backlog under a batch per replica: one more than Ready", SLOGuard{10}, Observation{P95Latency: 14, Waiting: 30, Running: 224, Ready: 7}, 7, 20, 8, true},
		// 1 Ready replica running 32 with 300 waiting: ceil(1 * 332 / 32) = ceil(10.4) = 11.
		{"a cold start's backlog is sized in one decision", SLOGuard{10}, Observation{P95Latency: 40, Waiting: 300, Running: 32, Ready: 1}, 1, 20, 11, true},
		{"the backlog's floor is clamped to the maximum", SLOGuard{10}, Observation{P95Latency: 40, Waiting: 1e12, Running: 0.5, Ready: 1}, 3, 20, 20, true},
		// ceil(2 * 130 / 64) = ceil(4.06) = 5, below the policy's 6.
		{"a scale-up past the backlog's floor is the policy's", SLOGuard{10}, Observation{P95Latency: 14, Waiting: 66, Running: 64, Ready: 2}, 6, 20, 6, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, raised := tc.guard.Apply(tc.obs, tc.desired, tc.hi)
			if got != tc.want || raised != tc.wantRaised {
				t.Errorf("Apply(%+v, %d, %d) = %d, %v; want %d, %v", tc.obs, tc.desired, tc.hi, got, raised, tc.want, tc.wantRaised)
			}
		})
	}
}
