package main

import (
	"database/sql"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// rawWriteTPS measures SQLite write transactions per second from Go on the
// disk of dir: one writer (SQLite has one), PocketBase's pragmas with the
// given synchronous mode, each transaction inserting one row of about the
// size of an order. It is the ceiling for any SQLite backend here.
func rawWriteTPS(dir, sync string, d time.Duration) (float64, error) {
	path := filepath.Join(dir, "raw-"+sync+".db")
	defer func() {
		for _, suffix := range []string{"", "-wal", "-shm"} {
			os.Remove(path + suffix)
		}
	}()
	db, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=journal_size_limit(200000000)"+
		"&_pragma=synchronous("+strings.ToUpper(sync)+")&_pragma=foreign_keys(ON)&_pragma=temp_store(MEMORY)&_pragma=cache_size(-32000)")
	if err != nil {
		return 0, fmt.Errorf("open %s: %w", path, err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(`CREATE TABLE t (id TEXT PRIMARY KEY, body TEXT NOT NULL)`); err != nil {
		return 0, fmt.Errorf("create table: %w", err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	body := strings.Repeat("x", 900)
	n := 0
	start := time.Now()
	for time.Since(start) < d {
		tx, err := db.Begin()
		if err != nil {
			return 0, err
		}
		if _, err := tx.Exec(`INSERT INTO t (id, body) VALUES (?, ?)`, newID(rng), body); err != nil {
			tx.Rollback()
			return 0, fmt.Errorf("insert: %w", err)
		}
		if err := tx.Commit(); err != nil {
			return 0, fmt.Errorf("commit: %w", err)
		}
		n++
	}
	return float64(n) / time.Since(start).Seconds(), nil
}
