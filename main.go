// Command pocketshop is a shop backend in one binary: PocketBase with the
// shop's collections, hooks, routes and storefront built in.
package main

import (
	"embed"
	"fmt"
	"io/fs"
	"log"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"
	_ "time/tzdata" // the shop's time zone works on hosts without zoneinfo

	"pocketshop/hooks"
	"pocketshop/hooks/jobs"
	"pocketshop/internal/config"
	cron "pocketshop/internal/jobs"
	"pocketshop/internal/payments"
	_ "pocketshop/pb_migrations"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/plugins/migratecmd"
	"github.com/pocketbase/pocketbase/tools/hook"
	"github.com/spf13/cobra"
)

// publicFiles is the storefront, built into the binary so that one file is
// the whole deployment.
//
//go:embed all:pb_public
var publicFiles embed.FS

func main() {
	// Bad configuration stops every command but help with one line.
	var cfg config.Config
	if !wantsHelp(os.Args[1:]) {
		var err error
		if cfg, err = config.Load(os.Getenv); err != nil {
			fmt.Fprintln(os.Stderr, "pocketshop: "+err.Error())
			os.Exit(1)
		}
	}

	if cfg.PprofAddr != "" {
		if err := startPprof(cfg.PprofAddr); err != nil {
			fmt.Fprintln(os.Stderr, "pocketshop: "+err.Error())
			os.Exit(1)
		}
	}
	if cfg.SQLiteSync == "" { // --help: Load did not run
		cfg.SQLiteSync = "FULL"
	}

	app := pocketbase.NewWithConfig(pocketbase.Config{DBConnect: dbConnect(cfg.SQLiteSync)})
	app.RootCmd.Short = "pocketshop: a shop backend in one binary (PocketBase with the shop built in)"

	var publicDir string
	app.RootCmd.PersistentFlags().StringVar(&publicDir, "publicDir", "",
		"serve the storefront from this directory instead of the copy built into the binary")
	_ = app.RootCmd.ParseFlags(os.Args[1:])

	migratecmd.MustRegister(app, app.RootCmd, migratecmd.Config{
		Dir:          "pb_migrations",
		TemplateLang: migratecmd.TemplateLangGo,
		Automigrate:  false, // the schema is owned by the Go migrations in pb_migrations/
	})

	jobsConfig := jobs.Config{Start: true}
	schedules, err := cron.SchedulesFromEnv(os.Environ(), jobs.Names(jobsConfig))
	if err != nil {
		log.Fatalf("pocketshop: %v", err)
	}
	jobsConfig.Schedules = schedules
	app.RootCmd.Long = app.RootCmd.Short + `

Environment variables (all optional; a bad value stops the start with one line naming it):
` + config.Help() + jobsHelp(jobs.Names(jobsConfig)) + `
Start the shop on a domain with automatic HTTPS:  pocketshop serve shop.example.com
Behind a proxy:                                   pocketshop serve --http=127.0.0.1:8090
Allow a storefront on another domain (CORS):      pocketshop serve --origins=https://www.example.com
Set the data dir with --dir (default: pb_data beside the binary).`
	deps := hooks.Deps{
		Jobs: jobsConfig,
		Payments: payments.Config{
			SecretKey:     cfg.StripeSecretKey,
			WebhookSecret: cfg.StripeWebhookSecret,
			APIBase:       cfg.StripeAPIBase,
		},
	}

	hooks.Register(app, deps)

	seedCmd := &cobra.Command{
		Use:   "seed",
		Short: "Loads a small demo catalog and pricing rules (safe to run again); --sales N adds N days of demo sales",
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := app.RunAllMigrations(); err != nil {
				return fmt.Errorf("apply migrations: %w", err)
			}
			n, err := hooks.SeedDemoCatalog(app)
			if err != nil {
				return err
			}
			fmt.Printf("Seeded %d demo products.\n", n)
			if n, err = hooks.SeedDemoPricing(app); err != nil {
				return err
			}
			fmt.Printf("Seeded %d demo pricing rules (code WELCOME10, VAT for GB, two shipping rates).\n", n)
			if days, _ := cmd.Flags().GetInt("sales"); days > 0 {
				n, err := hooks.SeedDemoSales(app, time.Now(), days)
				if err != nil {
					return err
				}
				fmt.Printf("Seeded %d demo orders paid over the last %d days (see /owner/).\n", n, days)
			}
			return nil
		},
	}
	seedCmd.Flags().Int("sales", 0, "also add demo orders paid over the last N days, for the owner's page")
	app.RootCmd.AddCommand(seedCmd)

	// cmdErr makes a failed shop command exit non-zero (PocketBase ignores it).
	var cmdErr error
	jobsCmd := hooks.NewJobsCommand(app, deps)
	productsCmd := hooks.NewProductsCommand(app)
	topCmds := []*cobra.Command{newBackupCommand(app), newRestoreCommand(app), jobsCmd, productsCmd}
	for _, c := range slices.Concat(topCmds[:2:2], jobsCmd.Commands(), productsCmd.Commands()) {
		run := c.RunE
		c.RunE = func(cmd *cobra.Command, args []string) error {
			cmdErr = run(cmd, args)
			return cmdErr
		}
	}
	app.RootCmd.AddCommand(topCmds...)

	if cfg.PublicURL != "" {
		app.OnServe().BindFunc(func(se *core.ServeEvent) error {
			if err := usePublicURL(se.App, cfg.PublicURL); err != nil {
				return err
			}
			return se.Next()
		})
	}

	app.OnServe().Bind(&hook.Handler[*core.ServeEvent]{
		Func: func(se *core.ServeEvent) error {
			public := fs.FS(os.DirFS(publicDir))
			if publicDir == "" {
				public, _ = fs.Sub(publicFiles, "pb_public")
			}
			if !se.Router.HasRoute(http.MethodGet, "/{path...}") {
				se.Router.GET("/{path...}", serveStorefront(public))
			}
			printFirstStartHint(se.App)
			return se.Next()
		},
		Priority: 999, // after every other route
	})

	if err := app.Start(); err != nil {
		log.Fatal(err)
	}
	if cmdErr != nil {
		os.Exit(1)
	}
}

// jobsHelp lists the schedule override variable of each job for --help.
func jobsHelp(names []string) string {
	var b strings.Builder
	for _, name := range names {
		fmt.Fprintf(&b, "  %-35s schedule of the %s job (cron, or off)\n", cron.EnvVar(name), name)
	}
	return b.String()
}

// wantsHelp reports whether the command line only asks for help or the version.
func wantsHelp(args []string) bool {
	return slices.ContainsFunc(args, func(a string) bool {
		return a == "-h" || a == "--help" || a == "-v" || a == "--version"
	})
}

// usePublicURL makes url PocketBase's Application URL (Dashboard > Settings),
// which links in emails and Stripe's return pages are built on.
func usePublicURL(app core.App, url string) error {
	s := app.Settings()
	if s.Meta.AppURL == url {
		return nil
	}
	s.Meta.AppURL = url
	if err := app.Save(s); err != nil {
		return fmt.Errorf("set the application URL to PUBLIC_URL: %w", err)
	}
	return nil
}

// printFirstStartHint tells a new owner how to get into the dashboard.
func printFirstStartHint(app core.App) {
	// PocketBase's installer adds a placeholder superuser: it does not count.
	total, err := app.CountRecords(core.CollectionNameSuperusers,
		dbx.Not(dbx.HashExp{"email": core.DefaultInstallerEmail}))
	if err != nil || total > 0 {
		return
	}
	fmt.Println(`pocketshop: no superuser yet. Open the installer link PocketBase prints, or run:
  ./pocketshop superuser upsert you@example.com 'a-long-password'
then sign in at http://127.0.0.1:8090/_/ . Load a demo catalog with: ./pocketshop seed`)
}
