// Package jobs runs the shop's scheduled jobs on robfig/cron: each job runs
// on its schedule in the shop's time zone, never twice at the same time,
// survives its own panics, and reports every run (started, finished, ok, how
// many items, a message) to a Recorder. It knows nothing of PocketBase: the
// hooks package supplies the jobs and a Recorder that writes job_runs rows.
package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/robfig/cron/v3"
)

// Off is the schedule that keeps a job from running on its own; it can
// still be run by hand.
const Off = "off"

// ErrStillRunning is returned by RunNow when the job is already running.
var ErrStillRunning = errors.New("the job is still running")

// parser reads cron specs with an optional seconds field ("0 */5 * * * *"
// runs on the 0th second of every 5th minute; the five-field "*/5 * * * *"
// means the same) and descriptors such as "@every 30s" or "@daily".
var parser = cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour |
	cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// Job is one scheduled job.
type Job struct {
	// Name identifies the job in job_runs, logs, the command line and its
	// environment variable (see EnvVar).
	Name string
	// Schedule is a cron spec with an optional seconds field, a descriptor
	// such as "@every 1m", or Off.
	Schedule string
	// Run does the work. It reports how many items it processed and a short
	// message for the owner. It should return early when ctx is done (the
	// server is stopping).
	Run func(ctx context.Context) (processed int, message string, err error)
}

// Run is the outcome of one run of a job.
type Run struct {
	Job        string
	StartedAt  time.Time
	FinishedAt time.Time
	OK         bool
	Processed  int
	// Message is the job's message, or the error (or panic) that failed it.
	Message string
}

// Recorder stores the outcome of every run.
type Recorder interface {
	RecordRun(ctx context.Context, r Run) error
}

// Config configures a Scheduler.
type Config struct {
	Jobs []Job
	// Schedules replaces the schedules of the named jobs (see
	// SchedulesFromEnv). Off disables a job.
	Schedules map[string]string
	// Location is the time zone schedules are read in. Nil means UTC.
	Location *time.Location
	// Now is the clock for the recorded start and finish times. Nil means
	// time.Now.
	Now func() time.Time
	// Recorder stores every run. Required.
	Recorder Recorder
	// Logger receives a line per run. Nil discards.
	Logger *slog.Logger
}

// Scheduler runs jobs on their schedules. Build it with New.
type Scheduler struct {
	cron     *cron.Cron
	loc      *time.Location
	now      func() time.Time
	recorder Recorder
	logger   *slog.Logger
	entries  map[string]*entry
	order    []string

	ctx     context.Context
	cancel  context.CancelFunc
	running sync.WaitGroup
}

type entry struct {
	job      Job
	schedule cron.Schedule // nil when Off
	busy     sync.Mutex
}

// New checks every job and schedule and returns a stopped Scheduler. An
// invalid schedule, a duplicate or missing name, or an override for a job
// that does not exist is an error.
func New(cfg Config) (*Scheduler, error) {
	if cfg.Recorder == nil {
		return nil, errors.New("jobs: a Recorder is required")
	}
	s := &Scheduler{
		loc:      cfg.Location,
		now:      cfg.Now,
		recorder: cfg.Recorder,
		logger:   cfg.Logger,
		entries:  make(map[string]*entry, len(cfg.Jobs)),
	}
	if s.loc == nil {
		s.loc = time.UTC
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.logger == nil {
		s.logger = slog.New(slog.DiscardHandler)
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())

	cl := cronLogger{s.logger}
	s.cron = cron.New(
		cron.WithParser(parser),
		cron.WithLocation(s.loc),
		cron.WithLogger(cl),
		// The entries recover from the jobs' panics and skip overlapping
		// runs themselves (so that RunNow shares the guard); Recover is the
		// last line of defence should a Recorder panic.
		cron.WithChain(cron.Recover(cl)),
	)

	for _, j := range cfg.Jobs {
		if j.Name == "" || j.Run == nil {
			return nil, fmt.Errorf("jobs: job %q needs a name and a Run function", j.Name)
		}
		if _, dup := s.entries[j.Name]; dup {
			return nil, fmt.Errorf("jobs: two jobs are named %q", j.Name)
		}
		if spec, ok := cfg.Schedules[j.Name]; ok {
			j.Schedule = spec
		}
		e := &entry{job: j}
		if j.Schedule != Off {
			sched, err := ParseSchedule(j.Schedule)
			if err != nil {
				return nil, fmt.Errorf("jobs: %s: %w", j.Name, err)
			}
			e.schedule = sched
			s.cron.Schedule(sched, cron.FuncJob(func() { _, _ = s.run(s.ctx, e) }))
		}
		s.entries[j.Name] = e
		s.order = append(s.order, j.Name)
	}
	for name := range cfg.Schedules {
		if _, ok := s.entries[name]; !ok {
			return nil, fmt.Errorf("jobs: a schedule is set for %q, but there is no such job (jobs: %s)",
				name, strings.Join(s.order, ", "))
		}
	}
	return s, nil
}

// ParseSchedule checks a schedule and returns it parsed.
func ParseSchedule(spec string) (cron.Schedule, error) {
	spec = strings.TrimSpace(spec)
	if spec == "" {
		return nil, errors.New("the schedule is empty")
	}
	sched, err := parser.Parse(spec)
	if err != nil {
		return nil, fmt.Errorf("invalid schedule %q (want a cron spec such as \"0 */5 * * * *\" with an optional seconds field, \"@every 30s\" or %q): %w",
			spec, Off, err)
	}
	return sched, nil
}

// Start starts running jobs on their schedules.
func (s *Scheduler) Start() {
	s.cron.Start()
}

// Stop stops scheduling jobs, tells running jobs to return early (their
// context is cancelled) and waits until they have returned and been
// recorded. A stopped Scheduler cannot be started again.
func (s *Scheduler) Stop() {
	cronDone := s.cron.Stop()
	s.cancel()
	<-cronDone.Done()
	s.running.Wait()
}

// JobInfo describes a job for listing.
type JobInfo struct {
	Name     string
	Schedule string // as given, or Off
	Next     time.Time
}

// Jobs lists the jobs in the order they were given, with the time each one
// runs next in the scheduler's time zone (zero when Off).
func (s *Scheduler) Jobs() []JobInfo {
	now := s.now().In(s.loc)
	out := make([]JobInfo, 0, len(s.order))
	for _, name := range s.order {
		e := s.entries[name]
		info := JobInfo{Name: name, Schedule: e.job.Schedule}
		if e.schedule != nil {
			info.Next = e.schedule.Next(now)
		}
		out = append(out, info)
	}
	return out
}

// Location is the time zone the schedules are read in.
func (s *Scheduler) Location() *time.Location {
	return s.loc
}

// RunNow runs the named job once, now, the way the schedule runs it: with
// the same logging and a recorded run. It returns ErrStillRunning, without
// running, when the job is already running.
func (s *Scheduler) RunNow(ctx context.Context, name string) (Run, error) {
	e, ok := s.entries[name]
	if !ok {
		names := append([]string(nil), s.order...)
		sort.Strings(names)
		return Run{}, fmt.Errorf("no job named %q (jobs: %s)", name, strings.Join(names, ", "))
	}
	r, err := s.run(ctx, e)
	if err != nil {
		return Run{}, fmt.Errorf("%s: %w", name, err)
	}
	return r, nil
}

// run runs e's job unless it is running already or ctx is done (the
// scheduler is stopping), turns a panic into a failed run, then records and
// logs the run.
func (s *Scheduler) run(ctx context.Context, e *entry) (Run, error) {
	if !e.busy.TryLock() {
		s.logger.Info("Job skipped: the previous run has not finished.", "job", e.job.Name)
		return Run{}, ErrStillRunning
	}
	defer e.busy.Unlock()
	if err := ctx.Err(); err != nil {
		return Run{}, err
	}
	s.running.Add(1)
	defer s.running.Done()

	r := Run{Job: e.job.Name, StartedAt: s.now()}
	processed, message, err := callJob(ctx, e.job)
	r.FinishedAt = s.now()
	r.Processed = processed
	r.OK = err == nil
	r.Message = message
	if err != nil {
		r.Message = err.Error()
		if message != "" {
			r.Message = message + ": " + err.Error()
		}
	}

	attrs := []any{"job", r.Job, "processed", r.Processed, "message", r.Message,
		"duration", r.FinishedAt.Sub(r.StartedAt).String()}
	var p *panicError
	if errors.As(err, &p) {
		attrs = append(attrs, "stack", p.stack)
	}
	if r.OK {
		s.logger.Info("Job finished.", attrs...)
	} else {
		s.logger.Error("Job failed.", attrs...)
	}
	// Record even when the run's context is done (the server is stopping):
	// the run happened.
	if err := s.recorder.RecordRun(context.WithoutCancel(ctx), r); err != nil {
		s.logger.Error("Job run not recorded.", "job", r.Job, "error", err)
	}
	return r, nil
}

// callJob calls the job, turning a panic into an error.
func callJob(ctx context.Context, j Job) (processed int, message string, err error) {
	defer func() {
		if p := recover(); p != nil {
			processed, message = 0, ""
			err = &panicError{value: p, stack: string(debug.Stack())}
		}
	}()
	return j.Run(ctx)
}

// panicError is a job's panic. Its message goes in the run; the stack goes
// to the log only.
type panicError struct {
	value any
	stack string
}

func (p *panicError) Error() string {
	return fmt.Sprintf("panic: %v", p.value)
}

// cronLogger sends robfig/cron's log lines to slog: its routine lines
// (wake, run, schedule) at debug level, errors as errors.
type cronLogger struct{ l *slog.Logger }

func (c cronLogger) Info(msg string, kv ...any) {
	c.l.Debug("cron: "+msg, kv...)
}

func (c cronLogger) Error(err error, msg string, kv ...any) {
	c.l.Error("cron: "+msg, append(kv, "error", err)...)
}
