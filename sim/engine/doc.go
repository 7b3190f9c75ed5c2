// Package engine is KISim's discrete-event core: a virtual clock and an event
// queue ordered by (time, sequence) so that simultaneous events run in the
// order they were scheduled, which keeps every run byte-for-byte reproducible.
package engine
