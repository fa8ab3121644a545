package main

import (
	"path/filepath"
	"testing"
)

func TestDBConnectSetsSynchronousOnDataDB(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	// SQLite reports synchronous as a number: 1 NORMAL, 2 FULL.
	for name, want := range map[string]int{"data.db": 2, "auxiliary.db": 1} {
		db, err := dbConnect("FULL")(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		var got int
		if err := db.NewQuery("PRAGMA synchronous").Row(&got); err != nil {
			t.Fatal(err)
		}
		db.Close()
		if got != want {
			t.Errorf("%s: synchronous = %d, want %d", name, got, want)
		}
	}
}
