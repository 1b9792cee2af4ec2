package sim

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Config.OnFault hears of every line as it fires, failures included, and
// of stop-faults; nothing after it.
func TestOnFaultHearsEveryFiredLine(t *testing.T) {
	script, err := ParseScript("t.txt", strings.NewReader("at 0s merge region 2\nat 100ms merge region 2\nevery 20ms transfer-leader random\nat 300ms stop-faults\n"))
	require.NoError(t, err)
	type fired struct {
		line int
		text string
		err  error
	}
	heard := make(chan fired, 1000)
	s, err := Start(Config{Stores: 2, Regions: 4, Script: script, OnFault: func(ev FaultEvent) {
		heard <- fired{ev.Line, ev.Text, ev.Err}
	}})
	require.NoError(t, err)
	defer s.Close()

	byLine := map[int][]fired{}
	deadline := time.After(10 * time.Second)
	for len(byLine[4]) == 0 {
		select {
		case f := <-heard:
			byLine[f.line] = append(byLine[f.line], f)
		case <-deadline:
			t.Fatalf("stop-faults never heard; heard %v", byLine)
		}
	}
	require.Len(t, byLine[1], 1)
	require.Equal(t, "at 0s merge region 2", byLine[1][0].text)
	require.NoError(t, byLine[1][0].err)
	require.Len(t, byLine[2], 1)
	require.ErrorContains(t, byLine[2][0].err, "region 2", "a failed line is heard with its error")
	require.NotEmpty(t, byLine[3], "a recurring line is heard each time")
	require.Equal(t, "at 300ms stop-faults", byLine[4][0].text)
}
