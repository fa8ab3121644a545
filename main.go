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
	_ "time/tzdata" // the shop's time zone works on hosts without zoneinfo

	"pocketshop/hooks"
	"pocketshop/internal/jobs"
	_ "pocketshop/pb_migrations"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase"
	"github.com/pocketbase/pocketbase/apis"
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
	sync, err := sqliteSync(os.Getenv(SyncEnv))
	if err != nil {
		log.Fatalf("pocketshop: %v", err)
	}
	if addr := os.Getenv(PprofEnv); addr != "" {
		if err := startPprof(addr); err != nil {
			log.Fatalf("pocketshop: %v", err)
		}
	}

	app := pocketbase.NewWithConfig(pocketbase.Config{DBConnect: dbConnect(sync)})

	var publicDir string
	app.RootCmd.PersistentFlags().StringVar(&publicDir, "publicDir", "",
		"serve the storefront from this directory instead of the copy built into the binary")
	_ = app.RootCmd.ParseFlags(os.Args[1:])

	migratecmd.MustRegister(app, app.RootCmd, migratecmd.Config{
		Dir:          "pb_migrations",
		TemplateLang: migratecmd.TemplateLangGo,
		Automigrate:  false, // the schema is owned by the Go migrations in pb_migrations/
	})

	jobsConfig := hooks.JobsConfig{Start: true}
	schedules, err := jobs.SchedulesFromEnv(os.Environ(), hooks.JobNames(jobsConfig))
	if err != nil {
		log.Fatalf("pocketshop: %v", err)
	}
	jobsConfig.Schedules = schedules
	deps := hooks.Deps{Jobs: jobsConfig}

	hooks.Register(app, deps)
	app.RootCmd.AddCommand(hooks.NewJobsCommand(app, deps))

	app.RootCmd.AddCommand(&cobra.Command{
		Use:   "seed",
		Short: "Loads a small demo catalog (safe to run again)",
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := app.RunAllMigrations(); err != nil {
				return fmt.Errorf("apply migrations: %w", err)
			}
			n, err := hooks.SeedDemoCatalog(app)
			if err != nil {
				return err
			}
			fmt.Printf("Seeded %d demo products.\n", n)
			return nil
		},
	})

	app.OnServe().Bind(&hook.Handler[*core.ServeEvent]{
		Func: func(se *core.ServeEvent) error {
			public := fs.FS(os.DirFS(publicDir))
			if publicDir == "" {
				public, _ = fs.Sub(publicFiles, "pb_public")
			}
			if !se.Router.HasRoute(http.MethodGet, "/{path...}") {
				se.Router.GET("/{path...}", apis.Static(public, true))
			}
			printFirstStartHint(se.App)
			return se.Next()
		},
		Priority: 999, // after every other route
	})

	if err := app.Start(); err != nil {
		log.Fatal(err)
	}
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
