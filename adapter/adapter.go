package adapter

import (
	"context"
	"fmt"
	"sync"

	"k8s.io/klog/v2"
	"k8s.io/utils/clock"
)

// Adapter owns a reconciler per target and the store the provider reads.
type Adapter struct {
	cfg         *Config
	reconcilers []*Reconciler
	store       *Store
}

// New builds the reconcilers, loading each target's model. prom, scales
// and clk are injected so that tests can fake them.
func New(cfg *Config, prom Querier, scales ScaleClient, clk clock.WithTicker, m *Metrics) (*Adapter, error) {
	a := &Adapter{cfg: cfg, store: newStore()}
	for i := range cfg.Targets {
		t := &cfg.Targets[i]
		q, err := NewQueries(t)
		if err != nil {
			return nil, fmt.Errorf("targets[%d] (%s/%s): %w", i, t.Namespace, t.ID, err)
		}
		d, err := NewDecider(t.Scaler)
		if err != nil {
			return nil, fmt.Errorf("targets[%d] (%s/%s): %w", i, t.Namespace, t.ID, err)
		}
		a.reconcilers = append(a.reconcilers, &Reconciler{
			target: t, queries: q, prom: prom, scales: scales, decider: d, guard: t.Guard(), clock: clk,
			store: a.store, metrics: m,
			maxStaleness: cfg.MaxStaleness.Duration, holdFor: cfg.HoldFor.Duration, timeout: cfg.Prometheus.Timeout.Duration,
		})
	}
	return a, nil
}

// Reconcilers exposes the per-target loops (for tests and one-shot runs).
func (a *Adapter) Reconcilers() []*Reconciler { return a.reconcilers }

// Provider serves the decisions as external metrics.
func (a *Adapter) Provider() *Provider { return newProvider(a.cfg, a.store) }

// Run runs every reconcile loop until ctx is done and waits for them.
func (a *Adapter) Run(ctx context.Context) {
	logger := klog.FromContext(ctx)
	var wg sync.WaitGroup
	for _, r := range a.reconcilers {
		logger.V(2).Info("Starting reconcile loop", "target", r.key(), "scaler", r.target.Scaler, "interval", a.cfg.Interval.Duration)
		wg.Go(func() { r.Run(ctx, a.cfg.Interval.Duration) })
	}
	wg.Wait()
}

// Store holds the latest decision of every target; the reconcilers write
// it and the API server's handlers read it concurrently.
type Store struct {
	mu        sync.RWMutex
	decisions map[string]Decision
}

func newStore() *Store { return &Store{decisions: map[string]Decision{}} }

func (s *Store) set(key string, d Decision) {
	s.mu.Lock()
	s.decisions[key] = d
	s.mu.Unlock()
}

func (s *Store) get(key string) (Decision, bool) {
	s.mu.RLock()
	d, ok := s.decisions[key]
	s.mu.RUnlock()
	return d, ok
}
