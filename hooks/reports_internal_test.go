package hooks

import (
	"net/url"
	"testing"
	"time"
)

// TestReportDaysAcrossClockChanges checks each local day's bounds in UTC
// where clocks change: in New York at 02:00 (a 23- and a 25-hour day), and
// in Santiago at midnight, which then does not exist (the day starts at
// 01:00 local, the instant of the change).
func TestReportDaysAcrossClockChanges(t *testing.T) {
	t.Parallel()
	cases := []struct {
		zone, from, to string
		want           [][3]string // date, start, end
	}{
		{"America/New_York", "2026-03-07", "2026-03-09", [][3]string{
			{"2026-03-07", "2026-03-07 05:00:00.000Z", "2026-03-08 05:00:00.000Z"},
			{"2026-03-08", "2026-03-08 05:00:00.000Z", "2026-03-09 04:00:00.000Z"},
			{"2026-03-09", "2026-03-09 04:00:00.000Z", "2026-03-10 04:00:00.000Z"},
		}},
		{"America/New_York", "2026-11-01", "2026-11-01", [][3]string{
			{"2026-11-01", "2026-11-01 04:00:00.000Z", "2026-11-02 05:00:00.000Z"},
		}},
		{"America/Santiago", "2026-09-05", "2026-09-07", [][3]string{
			{"2026-09-05", "2026-09-05 04:00:00.000Z", "2026-09-06 04:00:00.000Z"},
			{"2026-09-06", "2026-09-06 04:00:00.000Z", "2026-09-07 03:00:00.000Z"},
			{"2026-09-07", "2026-09-07 03:00:00.000Z", "2026-09-08 03:00:00.000Z"},
		}},
		{"UTC", "2024-02-28", "2024-03-01", [][3]string{
			{"2024-02-28", "2024-02-28 00:00:00.000Z", "2024-02-29 00:00:00.000Z"},
			{"2024-02-29", "2024-02-29 00:00:00.000Z", "2024-03-01 00:00:00.000Z"},
			{"2024-03-01", "2024-03-01 00:00:00.000Z", "2024-03-02 00:00:00.000Z"},
		}},
	}
	for _, c := range cases {
		loc, err := time.LoadLocation(c.zone)
		if err != nil {
			t.Fatal(err)
		}
		r, err := parseReportRange(url.Values{"from": {c.from}, "to": {c.to}}, loc, time.Now())
		if err != nil {
			t.Fatalf("%s %s..%s: %v", c.zone, c.from, c.to, err)
		}
		if len(r.Days) != len(c.want) {
			t.Fatalf("%s: %d days, want %d", c.zone, len(r.Days), len(c.want))
		}
		for i, d := range r.Days {
			if got := [3]string{d.Date, d.Start, d.End}; got != c.want[i] {
				t.Errorf("%s day %d = %v, want %v", c.zone, i, got, c.want[i])
			}
		}
	}
}
