package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"time"

	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/archive"
	"github.com/pocketbase/pocketbase/tools/osutils"
	"github.com/pocketbase/pocketbase/tools/security"
	"github.com/spf13/cobra"
)

// backupNamePattern is the shape PocketBase's backups API accepts.
var backupNamePattern = regexp.MustCompile(`^[a-z0-9_-]+\.zip$`)

// newBackupCommand returns `pocketshop backup [name.zip]`: a backup of the
// data dir in PocketBase's own format, stored where the dashboard's backups
// are (pb_data/backups, or S3 when configured).
func newBackupCommand(app core.App) *cobra.Command {
	return &cobra.Command{
		Use:   "backup [name.zip]",
		Short: "Backs up the data dir into pb_data/backups (or S3); run it with the server stopped",
		Long: `Backs up the whole data dir (database, uploaded files, settings) into a zip
in pb_data/backups, or in the S3 bucket set in Dashboard > Settings > Backups.
It is the same zip the dashboard makes and restores.

Run it with the server stopped (before an upgrade, say). While the server
runs, back up from the dashboard or with POST /api/backups: the server then
pauses its writes for the moment the zip takes.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := "pocketshop_" + time.Now().UTC().Format("20060102_150405") + ".zip"
			if len(args) > 0 {
				name = args[0]
			}
			if !backupNamePattern.MatchString(name) {
				return fmt.Errorf("backup name %q: use lower case letters, digits, _ and -, ending in .zip", name)
			}
			if err := app.CreateBackup(context.Background(), name); err != nil {
				return fmt.Errorf("create backup %s: %w", name, err)
			}
			where := filepath.Join(app.DataDir(), core.LocalBackupsDirName, name)
			if app.Settings().Backups.S3.Enabled {
				where = "S3 bucket " + app.Settings().Backups.S3.Bucket + ", key " + name
			}
			fmt.Fprintln(cmd.OutOrStdout(), "Backup written:", where)
			return nil
		},
	}
}

// newRestoreCommand returns `pocketshop restore <file.zip>`: it replaces the
// data dir with a backup, for a new machine or a bad day, with the server
// stopped. The data it replaces is first backed up into pb_data/backups.
func newRestoreCommand(app core.App) *cobra.Command {
	return &cobra.Command{
		Use:   "restore <file.zip>",
		Short: "Replaces the data dir with a backup zip; run it with the server stopped",
		Long: `Replaces the data dir with the content of a backup zip: a path to a file
(downloaded from the dashboard or S3), or the name of a zip in pb_data/backups.
If the data dir already holds a shop, it is first backed up into
pb_data/backups as before_restore_<time>.zip. The backups folder itself is kept.

Stop the server first. On the next start, migrations newer than the backup run.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return restoreBackup(cmd, app, args[0])
		},
	}
}

func restoreBackup(cmd *cobra.Command, app core.App, file string) error {
	dataDir := app.DataDir()
	zipPath := file
	if _, err := os.Stat(zipPath); err != nil {
		zipPath = filepath.Join(dataDir, core.LocalBackupsDirName, file)
		if _, err := os.Stat(zipPath); err != nil {
			return fmt.Errorf("backup %s: no such file, nor in %s", file, filepath.Dir(zipPath))
		}
	}

	// Unpack and check it before touching the data dir. The temp dir is the
	// one PocketBase empties on start, inside the data dir so that renames
	// stay on one filesystem.
	tempDir := filepath.Join(dataDir, core.LocalTempDirName)
	extracted := filepath.Join(tempDir, "pb_restore_"+security.PseudorandomString(8))
	defer os.RemoveAll(extracted)
	if err := archive.Extract(zipPath, extracted); err != nil {
		return fmt.Errorf("unpack %s: %w", zipPath, err)
	}
	if _, err := os.Stat(filepath.Join(extracted, "data.db")); err != nil {
		return fmt.Errorf("%s is not a PocketBase backup: it has no data.db", zipPath)
	}

	// A data dir that was ever served has the shop's collections: keep it.
	if _, err := app.FindCollectionByNameOrId("orders"); err == nil {
		name := "before_restore_" + time.Now().UTC().Format("20060102_150405") + ".zip"
		if err := app.CreateBackup(context.Background(), name); err != nil {
			return fmt.Errorf("back up the current data before restoring: %w", err)
		}
		fmt.Fprintln(cmd.OutOrStdout(), "The current data is saved as", filepath.Join(dataDir, core.LocalBackupsDirName, name))
	}

	// Close the databases, then swap the data dir's content.
	if err := app.ResetBootstrapState(); err != nil {
		return fmt.Errorf("close the data dir: %w", err)
	}
	keep := []string{core.LocalBackupsDirName, core.LocalTempDirName}
	old := filepath.Join(tempDir, "old_pb_data_"+security.PseudorandomString(8))
	if err := osutils.MoveDirContent(dataDir, old, keep...); err != nil {
		return fmt.Errorf("move the current data aside: %w", err)
	}
	if err := osutils.MoveDirContent(extracted, dataDir, keep...); err != nil {
		if revertErr := osutils.MoveDirContent(old, dataDir, keep...); revertErr != nil {
			err = errors.Join(err, fmt.Errorf("put the old data back (it is in %s): %w", old, revertErr))
		}
		return fmt.Errorf("move the backup into %s: %w", dataDir, err)
	}
	fmt.Fprintln(cmd.OutOrStdout(), "Restored", zipPath, "into", dataDir+". Start the server.")
	return nil
}
