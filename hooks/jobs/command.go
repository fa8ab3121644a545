package jobs

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"text/tabwriter"
	"time"

	cron "pocketshop/internal/jobs"

	"github.com/pocketbase/pocketbase/core"
	"github.com/spf13/cobra"
)

// NewCommand returns the `jobs` command: `jobs list` shows every job
// with its schedule, next and last run; `jobs run NAME` runs one job now,
// with the same logging and job_runs row as a scheduled run. Both apply
// pending migrations first, as `serve` does. newScheduler builds the
// scheduler once the migrations are applied.
func NewCommand(app core.App, newScheduler func() (*cron.Scheduler, error)) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "jobs",
		Short: "Lists the scheduled jobs or runs one now",
	}
	open := func() (*cron.Scheduler, error) {
		if err := app.RunAllMigrations(); err != nil {
			return nil, fmt.Errorf("apply migrations: %w", err)
		}
		return newScheduler()
	}

	cmd.AddCommand(&cobra.Command{
		Use:          "list",
		Short:        "Lists the jobs with their schedules, next and last runs",
		Args:         cobra.NoArgs,
		SilenceUsage: true,
		RunE: func(c *cobra.Command, args []string) error {
			sched, err := open()
			if err != nil {
				return err
			}
			w := tabwriter.NewWriter(c.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintf(w, "JOB\tSCHEDULE\tNEXT RUN (%s)\tLAST RUN\n", sched.Location())
			for _, j := range sched.Jobs() {
				next := "-"
				if !j.Next.IsZero() {
					next = j.Next.Format("2006-01-02 15:04:05")
				}
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", j.Name, j.Schedule, next, lastRun(app, j.Name, sched.Location()))
			}
			return w.Flush()
		},
	})

	cmd.AddCommand(&cobra.Command{
		Use:          "run NAME",
		Short:        "Runs one job now and records the run in job_runs",
		Args:         cobra.ExactArgs(1),
		SilenceUsage: true,
		RunE: func(c *cobra.Command, args []string) error {
			sched, err := open()
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
			defer stop()
			run, err := sched.RunNow(ctx, args[0])
			if err != nil {
				return err
			}
			status := "ok"
			if !run.OK {
				status = "FAILED"
			}
			fmt.Fprintf(c.OutOrStdout(), "%s: %s in %s, %d processed: %s\n", run.Job, status,
				run.FinishedAt.Sub(run.StartedAt).Round(time.Millisecond), run.Processed, run.Message)
			if !run.OK {
				return fmt.Errorf("job %s failed", run.Job)
			}
			return nil
		},
	})
	return cmd
}

// lastRun describes the latest recorded run of a job.
func lastRun(app core.App, job string, loc *time.Location) string {
	runs, err := app.FindRecordsByFilter("job_runs", "job = {:job}", "-started_at", 1, 0,
		map[string]any{"job": job})
	if err != nil || len(runs) == 0 {
		return "never"
	}
	r := runs[0]
	status := "ok"
	if !r.GetBool("ok") {
		status = "failed"
	}
	return fmt.Sprintf("%s %s", r.GetDateTime("started_at").Time().In(loc).Format("2006-01-02 15:04:05"), status)
}
