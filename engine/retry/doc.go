// Package retry owns the timing of the engine's retries: how long a failed
// region or key range waits before it is tried again (Policy), and the single
// timer that fires those retries and shows them to the operator (Scheduler).
//
// It must never talk to TiKV or PD, never read the wall clock except through
// an injected Clock (or an explicit now argument), and never run a retry
// action on the goroutine that decides what is due: a retry that blocks must
// not hold back any other retry. Backoff state is keyed by logical key range,
// never by region ID, and is reset only when a region is initialized or a
// request succeeds — never on the resolved-ts path.
package retry
