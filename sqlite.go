package main

import (
	"fmt"
	"path/filepath"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

// dbConnect opens PocketBase's databases with its own pragmas
// (core/db_connect.go), except that the data database (orders, payments,
// stock, outbox) uses the given synchronous mode (POCKETSHOP_SQLITE_SYNC).
// The auxiliary database (request logs) keeps PocketBase's NORMAL.
func dbConnect(sync string) core.DBConnectFunc {
	return func(dbPath string) (*dbx.DB, error) {
		if filepath.Base(dbPath) != "data.db" {
			return core.DefaultDBConnect(dbPath)
		}
		pragmas := "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=journal_size_limit(200000000)" +
			"&_pragma=synchronous(" + sync + ")&_pragma=foreign_keys(ON)&_pragma=temp_store(MEMORY)&_pragma=cache_size(-32000)"
		db, err := dbx.Open("sqlite", dbPath+pragmas)
		if err != nil {
			return nil, fmt.Errorf("open %s: %w", dbPath, err)
		}
		return db, nil
	}
}
