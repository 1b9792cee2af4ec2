package reload_test

import (
	"fmt"
	"time"

	"github.com/pulltop/pulltop/engine/reload"
)

// The engine goroutine that owns the Aggregator feeds it region errors and
// fires it from its own timer; here the timer is simulated by jumping to
// DueAt.
func ExampleAggregator() {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	agg := reload.New(reload.Config{})

	// Two neighbouring regions of subscription 1 split; the operator forces
	// a reload of the second.
	agg.Add(1, reload.Span{Start: "t1_r100", End: "t1_r200"}, reload.Low, "epoch_not_match", start)
	agg.Add(1, reload.Span{Start: "t1_r200", End: "t1_r300"}, reload.High, "force_reload", start.Add(5*time.Millisecond))

	due, _ := agg.DueAt()
	fmt.Println("timer fires after", due.Sub(start))
	for _, task := range agg.Tick(due) {
		fmt.Printf("reload sub %d [%s, %s) %v, merged from %d: %v\n",
			task.Sub, task.Span.Start, task.Span.End, task.Priority, task.MergedFrom, task.Reasons)
	}
	_, pending := agg.DueAt()
	fmt.Println("still pending:", pending)
	// Output:
	// timer fires after 25ms
	// reload sub 1 [t1_r100, t1_r300) high, merged from 2: [epoch_not_match force_reload]
	// still pending: false
}

func ExampleMergeSpans() {
	spans := []reload.Span{{Start: "d", End: "e"}, {Start: "b", End: "c"}, {Start: "a", End: "b"}, {Start: "x", End: ""}}
	fmt.Println(reload.MergeSpans(spans))
	// Output: [{a c} {d e} {x }]
}
