package jobs_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"pocketshop/internal/jobs"
)

// recorder keeps runs in memory and signals each one.
type recorder struct {
	mu   sync.Mutex
	runs []jobs.Run
	got  chan jobs.Run
}

func newRecorder() *recorder {
	return &recorder{got: make(chan jobs.Run, 100)}
}

func (r *recorder) RecordRun(_ context.Context, run jobs.Run) error {
	r.mu.Lock()
	r.runs = append(r.runs, run)
	r.mu.Unlock()
	r.got <- run
	return nil
}

func (r *recorder) all() []jobs.Run {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]jobs.Run(nil), r.runs...)
}

// next waits for the next recorded run. The deadline only stops a broken
// test from hanging; nothing asserts how fast a run happens.
func (r *recorder) next(t *testing.T) jobs.Run {
	t.Helper()
	select {
	case run := <-r.got:
		return run
	case <-time.After(time.Minute):
		t.Fatal("no run recorded")
		return jobs.Run{}
	}
}

func newScheduler(t *testing.T, cfg jobs.Config) *jobs.Scheduler {
	t.Helper()
	s, err := jobs.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(s.Stop)
	return s
}

func TestRunNowRecordsEveryOutcome(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 11, 29, 8, 0, 0, 0, time.UTC)
	now := start
	clock := func() time.Time { now = now.Add(time.Second); return now }

	rec := newRecorder()
	s := newScheduler(t, jobs.Config{
		Now:      clock,
		Recorder: rec,
		Jobs: []jobs.Job{
			{Name: "ok", Schedule: "@daily", Run: func(context.Context) (int, string, error) {
				return 3, "3 done", nil
			}},
			{Name: "fails", Schedule: "@daily", Run: func(context.Context) (int, string, error) {
				return 1, "1 done", errors.New("disk full")
			}},
			{Name: "panics", Schedule: "@daily", Run: func(context.Context) (int, string, error) {
				panic("boom")
			}},
		},
	})

	tests := []struct {
		job       string
		ok        bool
		processed int
		message   string
	}{
		{"ok", true, 3, "3 done"},
		{"fails", false, 1, "1 done: disk full"},
		{"panics", false, 0, "panic: boom"},
	}
	for _, tt := range tests {
		run, err := s.RunNow(context.Background(), tt.job)
		if err != nil {
			t.Fatalf("%s: RunNow: %v", tt.job, err)
		}
		recorded := rec.next(t)
		if recorded != run {
			t.Errorf("%s: recorded %+v, returned %+v", tt.job, recorded, run)
		}
		if run.Job != tt.job || run.OK != tt.ok || run.Processed != tt.processed || run.Message != tt.message {
			t.Errorf("%s: got %+v, want ok=%v processed=%d message=%q", tt.job, run, tt.ok, tt.processed, tt.message)
		}
		if !run.FinishedAt.After(run.StartedAt) || run.StartedAt.Before(start) {
			t.Errorf("%s: times %v..%v do not come from the injected clock", tt.job, run.StartedAt, run.FinishedAt)
		}
	}

	if _, err := s.RunNow(context.Background(), "nope"); err == nil || !strings.Contains(err.Error(), `no job named "nope"`) {
		t.Errorf("unknown job: err = %v", err)
	}
}

func TestOverlappingRunsRunOnce(t *testing.T) {
	t.Parallel()
	started := make(chan struct{})
	release := make(chan struct{})
	calls := 0
	rec := newRecorder()
	s := newScheduler(t, jobs.Config{
		Recorder: rec,
		Jobs: []jobs.Job{{Name: "slow", Schedule: "@daily", Run: func(context.Context) (int, string, error) {
			calls++
			close(started)
			<-release
			return 1, "", nil
		}}},
	})

	first := make(chan error, 1)
	go func() {
		_, err := s.RunNow(context.Background(), "slow")
		first <- err
	}()
	<-started

	// The first run is inside the job: a second trigger is skipped.
	if _, err := s.RunNow(context.Background(), "slow"); !errors.Is(err, jobs.ErrStillRunning) {
		t.Fatalf("second trigger: err = %v, want ErrStillRunning", err)
	}
	close(release)
	if err := <-first; err != nil {
		t.Fatalf("first trigger: %v", err)
	}
	if calls != 1 || len(rec.all()) != 1 {
		t.Fatalf("job ran %d times, %d runs recorded; want 1 and 1", calls, len(rec.all()))
	}
}

// TestScheduledPanicThenNextRun runs the real cron loop: the first run
// panics and is recorded as failed, the next tick still runs the job.
func TestScheduledPanicThenNextRun(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	calls := 0
	rec := newRecorder()
	s := newScheduler(t, jobs.Config{
		Recorder: rec,
		Jobs: []jobs.Job{{Name: "flaky", Schedule: "* * * * * *", Run: func(context.Context) (int, string, error) {
			mu.Lock()
			calls++
			n := calls
			mu.Unlock()
			if n == 1 {
				panic("first run fails")
			}
			return n, "fine", nil
		}}},
	})
	s.Start()

	first, second := rec.next(t), rec.next(t)
	s.Stop()
	if first.OK || first.Message != "panic: first run fails" {
		t.Errorf("first run = %+v, want a failed run with the panic", first)
	}
	if !second.OK || second.Message != "fine" {
		t.Errorf("second run = %+v, want ok", second)
	}
}

func TestStopWaitsForRunningJobs(t *testing.T) {
	t.Parallel()
	started := make(chan struct{}, 1)
	rec := newRecorder()
	s := newScheduler(t, jobs.Config{
		Recorder: rec,
		Jobs: []jobs.Job{{Name: "long", Schedule: "* * * * * *", Run: func(ctx context.Context) (int, string, error) {
			select {
			case started <- struct{}{}:
			default:
			}
			<-ctx.Done() // works until told to stop
			return 7, "stopped early", ctx.Err()
		}}},
	})
	s.Start()
	<-started
	s.Stop()

	// Stop returned only after the job returned and its run was recorded.
	runs := rec.all()
	if len(runs) != 1 {
		t.Fatalf("%d runs recorded when Stop returned, want 1", len(runs))
	}
	if runs[0].OK || runs[0].Processed != 7 || !strings.Contains(runs[0].Message, "context canceled") {
		t.Errorf("run = %+v, want a failed run that says it was cancelled", runs[0])
	}
}

func TestJobsNextRunInLocation(t *testing.T) {
	t.Parallel()
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	// 12:00 UTC is 07:00 in New York: the 08:00 run is an hour away.
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	s := newScheduler(t, jobs.Config{
		Location: ny,
		Now:      func() time.Time { return now },
		Recorder: newRecorder(),
		Schedules: map[string]string{
			"digest": "0 0 8 * * *",
			"prune":  jobs.Off,
		},
		Jobs: []jobs.Job{
			{Name: "digest", Schedule: "@daily", Run: noop},
			{Name: "prune", Schedule: "@daily", Run: noop},
		},
	})
	list := s.Jobs()
	if len(list) != 2 || list[0].Name != "digest" || list[1].Name != "prune" {
		t.Fatalf("Jobs() = %+v", list)
	}
	if want := time.Date(2026, 11, 29, 8, 0, 0, 0, ny); !list[0].Next.Equal(want) {
		t.Errorf("digest next = %v, want %v", list[0].Next, want)
	}
	if list[1].Schedule != jobs.Off || !list[1].Next.IsZero() {
		t.Errorf("prune = %+v, want off with no next run", list[1])
	}
	// A job that is off still runs by hand.
	if _, err := s.RunNow(context.Background(), "prune"); err != nil {
		t.Errorf("RunNow(prune): %v", err)
	}
}

func noop(context.Context) (int, string, error) { return 0, "", nil }

func TestNewRejectsBadConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  jobs.Config
		want string
	}{
		{"invalid default schedule",
			jobs.Config{Jobs: []jobs.Job{{Name: "a", Schedule: "every minute", Run: noop}}},
			`a: invalid schedule "every minute"`},
		{"invalid override",
			jobs.Config{Jobs: []jobs.Job{{Name: "a", Schedule: "@daily", Run: noop}}, Schedules: map[string]string{"a": "61 * * * * *"}},
			`a: invalid schedule "61 * * * * *"`},
		{"empty schedule",
			jobs.Config{Jobs: []jobs.Job{{Name: "a", Schedule: " ", Run: noop}}},
			"a: the schedule is empty"},
		{"override for no job",
			jobs.Config{Jobs: []jobs.Job{{Name: "a", Schedule: "@daily", Run: noop}}, Schedules: map[string]string{"b": "@daily"}},
			`a schedule is set for "b", but there is no such job`},
		{"duplicate name",
			jobs.Config{Jobs: []jobs.Job{{Name: "a", Schedule: "@daily", Run: noop}, {Name: "a", Schedule: "@daily", Run: noop}}},
			`two jobs are named "a"`},
		{"no run function",
			jobs.Config{Jobs: []jobs.Job{{Name: "a", Schedule: "@daily"}}},
			`job "a" needs a name and a Run function`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.cfg.Recorder = newRecorder()
			_, err := jobs.New(tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
	if _, err := jobs.New(jobs.Config{}); err == nil {
		t.Error("New without a Recorder succeeded")
	}
}

func TestSchedulesFromEnv(t *testing.T) {
	t.Parallel()
	names := []string{"expire-reservations", "low-stock-digest", "prune"}
	tests := []struct {
		name    string
		environ []string
		want    map[string]string
		wantErr string
	}{
		{"none", []string{"HOME=/root", "PATH=/bin"}, map[string]string{}, ""},
		{"overrides",
			[]string{"POCKETSHOP_JOB_EXPIRE_RESERVATIONS=@every 30s", "POCKETSHOP_JOB_LOW_STOCK_DIGEST= 0 30 7 * * 1-5 ", "POCKETSHOP_JOB_PRUNE=off"},
			map[string]string{"expire-reservations": "@every 30s", "low-stock-digest": "0 30 7 * * 1-5", "prune": "off"}, ""},
		{"five fields", []string{"POCKETSHOP_JOB_PRUNE=*/5 * * * *"}, map[string]string{"prune": "*/5 * * * *"}, ""},
		{"empty is ignored", []string{"POCKETSHOP_JOB_PRUNE="}, map[string]string{}, ""},
		{"invalid schedule", []string{"POCKETSHOP_JOB_PRUNE=@every fortnight"}, nil,
			`POCKETSHOP_JOB_PRUNE: invalid schedule "@every fortnight"`},
		{"unknown job", []string{"POCKETSHOP_JOB_EXPIRE_RESERVATION=@every 1m"}, nil,
			"POCKETSHOP_JOB_EXPIRE_RESERVATION: no such job schedule variable (known: POCKETSHOP_JOB_EXPIRE_RESERVATIONS, POCKETSHOP_JOB_LOW_STOCK_DIGEST, POCKETSHOP_JOB_PRUNE)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := jobs.SchedulesFromEnv(tt.environ, names)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
			for k, v := range tt.want {
				if got[k] != v {
					t.Errorf("%s = %q, want %q", k, got[k], v)
				}
			}
		})
	}
	if v := jobs.EnvVar("expire-reservations"); v != "POCKETSHOP_JOB_EXPIRE_RESERVATIONS" {
		t.Errorf("EnvVar = %s", v)
	}
}
