package ppo

import (
	"math"
	"testing"
)

func near(a, b float64) bool { return math.Abs(a-b) < 1e-12 }

func TestGAEThreeSteps(t *testing.T) {
	// gamma 0.9, lambda 0.8; rewards 1, 0, 2; values 0.5, 1.0, 1.5; V(s_3) = 2.
	//   delta_2 = 2 + 0.9*2   - 1.5 = 2.3                 A_2 = 2.3
	//   delta_1 = 0 + 0.9*1.5 - 1.0 = 0.35                A_1 = 0.35 + 0.72*2.3  = 2.006
	//   delta_0 = 1 + 0.9*1.0 - 0.5 = 1.4                 A_0 = 1.4  + 0.72*2.006 = 2.84432
	adv, ret := make([]float64, 3), make([]float64, 3)
	GAE([]float64{1, 0, 2}, []float64{0.5, 1.0, 1.5}, []bool{false, false, false}, 2, 0.9, 0.8, adv, ret)
	want := []float64{2.84432, 2.006, 2.3}
	for i := range want {
		if !near(adv[i], want[i]) {
			t.Errorf("A_%d = %v, want %v", i, adv[i], want[i])
		}
		if !near(ret[i], want[i]+[]float64{0.5, 1.0, 1.5}[i]) {
			t.Errorf("return_%d = %v", i, ret[i])
		}
	}
	// An episode end after step 1 cuts the bootstrap and the trace there:
	//   A_2 = 2.3 (as before); delta_1 = 0 - 1.0 = -1.0, A_1 = -1.0;
	//   A_0 = 1.4 + 0.72*(-1.0) = 0.68.
	GAE([]float64{1, 0, 2}, []float64{0.5, 1.0, 1.5}, []bool{false, true, false}, 2, 0.9, 0.8, adv, ret)
	for i, w := range []float64{0.68, -1.0, 2.3} {
		if !near(adv[i], w) {
			t.Errorf("with done: A_%d = %v, want %v", i, adv[i], w)
		}
	}
}

func TestClippedSurrogate(t *testing.T) {
	tests := []struct {
		name              string
		ratio, adv        float64
		wantObj, wantGrad float64
	}{
		// Inside [0.8, 1.2]: both terms equal ratio*A = 1.1*2.
		{"inside the range", 1.1, 2, 2.2, 2.2},
		// Positive advantage, ratio 1.5 > 1.2: min(3, 2.4) = 2.4, clipped, no gradient.
		{"above the range, A > 0", 1.5, 2, 2.4, 0},
		// Negative advantage, ratio 1.5: min(-3, -2.4) = -3, unclipped: gradient 1.5*-2.
		{"above the range, A < 0", 1.5, -2, -3, -3},
		// Positive advantage, ratio 0.5 < 0.8: min(1, 1.6) = 1, unclipped.
		{"below the range, A > 0", 0.5, 2, 1, 1},
		// Negative advantage, ratio 0.5: min(-1, -1.6) = -1.6, clipped.
		{"below the range, A < 0", 0.5, -2, -1.6, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			obj, grad := ClippedSurrogate(math.Log(tc.ratio), 0, tc.adv, 0.2)
			if !near(obj, tc.wantObj) || !near(grad, tc.wantGrad) {
				t.Errorf("got (%v, %v), want (%v, %v)", obj, grad, tc.wantObj, tc.wantGrad)
			}
		})
	}
}
