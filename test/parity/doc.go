// Package parity holds tests that join parts which must not import each
// other (the adapter and the simulator): what the adapter serves, the
// simulator's model of the HPA controller must read the same way.
package parity
