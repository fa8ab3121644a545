package main

import (
	"fmt"
	"path/filepath"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

// dbConnect opens PocketBase's databases with its own pragmas
// (core/db_connect.go) and two changes:
//
//   - the data database (orders, payments, stock, outbox) uses the given
//     synchronous mode (POCKETSHOP_SQLITE_SYNC); the auxiliary database
//     (request logs) keeps PocketBase's NORMAL;
//   - every transaction begins as a writer (BEGIN IMMEDIATE, modernc.org/
//     sqlite's _txlock). A deferred transaction reads first and upgrades to
//     a writer at its first write; in WAL mode, when another process (the
//     `pocketshop jobs run` CLI beside the server) has committed since the
//     read, the upgrade fails at once with SQLITE_BUSY or
//     SQLITE_BUSY_SNAPSHOT (517), which busy_timeout does not wait out.
//     BEGIN IMMEDIATE waits for the write lock up to busy_timeout instead.
//     PocketBase begins transactions only on its single-connection
//     "nonconcurrent" pool (core/db_tx.go): reads on the concurrent pool
//     run outside transactions and are not serialized by this.
func dbConnect(sync string) core.DBConnectFunc {
	return func(dbPath string) (*dbx.DB, error) {
		mode := sync
		if filepath.Base(dbPath) != "data.db" {
			mode = "NORMAL"
		}
		pragmas := "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=journal_size_limit(200000000)" +
			"&_pragma=synchronous(" + mode + ")&_pragma=foreign_keys(ON)&_pragma=temp_store(MEMORY)&_pragma=cache_size(-32000)" +
			"&_txlock=immediate"
		db, err := dbx.Open("sqlite", dbPath+pragmas)
		if err != nil {
			return nil, fmt.Errorf("open %s: %w", dbPath, err)
		}
		return db, nil
	}
}
