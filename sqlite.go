package main

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

// SyncEnv names the environment variable that sets SQLite's synchronous
// pragma on the data database.
const SyncEnv = "POCKETSHOP_SQLITE_SYNC"

// defaultSync is what the shop ships with: FULL makes SQLite sync the WAL on
// every commit, so an order or payment the shop acknowledged survives a
// power cut or kernel crash, not only a crash of the process (which NORMAL
// already survives). bench/ measures what it costs (README, Performance).
const defaultSync = "full"

// sqliteSync returns the synchronous mode named by value ("full" or
// "normal", any case; empty means defaultSync).
func sqliteSync(value string) (string, error) {
	switch v := strings.ToLower(strings.TrimSpace(value)); v {
	case "":
		return strings.ToUpper(defaultSync), nil
	case "full", "normal":
		return strings.ToUpper(v), nil
	default:
		return "", fmt.Errorf("%s must be full or normal (got %q)", SyncEnv, value)
	}
}

// dbConnect opens PocketBase's databases with its own pragmas, except that
// the data database (orders, payments, stock) uses the given synchronous
// mode. The auxiliary database (request logs) keeps PocketBase's NORMAL.
func dbConnect(sync string) core.DBConnectFunc {
	return func(dbPath string) (*dbx.DB, error) {
		if filepath.Base(dbPath) != "data.db" {
			return core.DefaultDBConnect(dbPath)
		}
		// PocketBase's pragmas (core/db_connect.go) with synchronous set.
		pragmas := "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=journal_size_limit(200000000)" +
			"&_pragma=synchronous(" + sync + ")&_pragma=foreign_keys(ON)&_pragma=temp_store(MEMORY)&_pragma=cache_size(-32000)"
		db, err := dbx.Open("sqlite", dbPath+pragmas)
		if err != nil {
			return nil, fmt.Errorf("open %s: %w", dbPath, err)
		}
		return db, nil
	}
}
