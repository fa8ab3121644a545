// Command barepb is PocketBase v0.36.9 with pocketshop's collections and
// none of its hooks: the baseline the benchmark compares the shop with.
package main

import (
	"log"
	"os"
	"path/filepath"
	"strings"

	_ "pocketshop/pb_migrations"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/plugins/migratecmd"
)

func main() {
	// The data database gets the same synchronous setting as the shop's
	// (bench sets it), so that both run with the same durability.
	sync := strings.ToUpper(os.Getenv("POCKETSHOP_SQLITE_SYNC"))
	if sync != "FULL" {
		sync = "NORMAL"
	}
	app := pocketbase.NewWithConfig(pocketbase.Config{
		DBConnect: func(dbPath string) (*dbx.DB, error) {
			if filepath.Base(dbPath) != "data.db" {
				return core.DefaultDBConnect(dbPath)
			}
			return dbx.Open("sqlite", dbPath+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)"+
				"&_pragma=journal_size_limit(200000000)&_pragma=synchronous("+sync+")&_pragma=foreign_keys(ON)"+
				"&_pragma=temp_store(MEMORY)&_pragma=cache_size(-32000)")
		},
	})
	migratecmd.MustRegister(app, app.RootCmd, migratecmd.Config{Dir: "pb_migrations", TemplateLang: migratecmd.TemplateLangGo})
	if err := app.Start(); err != nil {
		log.Fatal(err)
	}
}
