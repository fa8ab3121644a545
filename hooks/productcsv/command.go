package productcsv

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/pocketbase/pocketbase/core"
	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"
)

// NewCommand returns the `products` command: `products import FILE.csv
// [--dry-run]` and `products export [FILE.csv]` (standard output without a
// file). Both apply pending migrations first, as `serve` does. A failed
// import prints every bad row as "line N: field: why" and returns an error.
func NewCommand(app core.App) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "products",
		Short: "Imports or exports the catalog as CSV (one row per variant or simple product)",
	}

	var dryRun bool
	importCmd := &cobra.Command{
		Use:   "import FILE.csv",
		Short: "Creates or updates products and variants from a CSV file (by SKU, then slug); writes nothing if a row is bad",
		Long: `Creates or updates products and variants from a CSV file with a header row:
  ` + fmt.Sprint(Columns) + `
One row per variant (the product's columns repeated on each) or per simple product (variant columns empty).
Products are matched by SKU, then slug; variants by SKU, then by their options. Nothing is deleted.
Every bad row is reported as "line N: field: why" and then nothing is written.`,
		Args:         cobra.ExactArgs(1),
		SilenceUsage: true,
		RunE: func(c *cobra.Command, args []string) error {
			if err := app.RunAllMigrations(); err != nil {
				return fmt.Errorf("apply migrations: %w", err)
			}
			f, err := os.Open(args[0])
			if err != nil {
				return err
			}
			defer f.Close()
			start := time.Now()
			sum, err := Import(c.Context(), app, f, dryRun, newProgress(c.ErrOrStderr()))
			var errs Errors
			if errors.As(err, &errs) {
				for _, e := range errs {
					fmt.Fprintln(c.ErrOrStderr(), e)
				}
				return fmt.Errorf("%s: %d problem(s); nothing was imported", filepath.Base(args[0]), len(errs))
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(c.OutOrStdout(), "%s in %s\n", sum, time.Since(start).Round(time.Millisecond))
			return nil
		},
	}
	importCmd.Flags().BoolVar(&dryRun, "dry-run", false, "check every row and say what would change, without writing")
	cmd.AddCommand(importCmd)

	cmd.AddCommand(&cobra.Command{
		Use:          "export [FILE.csv]",
		Short:        "Writes the whole catalog as CSV to FILE.csv, or to standard output",
		Args:         cobra.MaximumNArgs(1),
		SilenceUsage: true,
		RunE: func(c *cobra.Command, args []string) error {
			if err := app.RunAllMigrations(); err != nil {
				return fmt.Errorf("apply migrations: %w", err)
			}
			if len(args) == 0 {
				_, err := Export(app, c.OutOrStdout(), newProgress(c.ErrOrStderr()))
				return err
			}
			// Written beside the target and renamed: a failed export never
			// leaves half a file under the owner's name.
			tmp, err := os.CreateTemp(filepath.Dir(args[0]), ".export-*.csv")
			if err != nil {
				return err
			}
			defer os.Remove(tmp.Name())
			n, err := Export(app, tmp, newProgress(c.ErrOrStderr()))
			if cerr := tmp.Close(); err == nil {
				err = cerr
			}
			if err == nil {
				err = os.Rename(tmp.Name(), args[0])
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(c.ErrOrStderr(), "exported %d rows to %s\n", n, args[0])
			return nil
		},
	})
	return cmd
}

// bar is a Progress drawn with progressbar on a terminal.
type bar struct {
	w io.Writer
	b *progressbar.ProgressBar
}

// newProgress returns a progress bar drawn on w when w is a terminal, and
// nil (no progress shown) otherwise: logs and pipes get no control codes.
func newProgress(w io.Writer) Progress {
	f, ok := w.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return nil
	}
	return &bar{w: w}
}

func (p *bar) Start(total int, what string) {
	p.b = progressbar.NewOptions(total,
		progressbar.OptionSetWriter(p.w),
		progressbar.OptionSetDescription(what),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString("rows"),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionClearOnFinish(),
	)
}

func (p *bar) Add(n int) { _ = p.b.Add(n) }

func (p *bar) Finish() { _ = p.b.Finish() }
