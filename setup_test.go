package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestNeedChromium runs e2e/need-chromium.sh (what `make test` does before the
// browser tests) with a PATH of stand-ins: an `id` that says who runs it and
// an apt-get that logs its arguments and "installs" chromium into the PATH.
// The machine's own Chromium is hidden, not removed.
func TestNeedChromium(t *testing.T) {
	t.Parallel()
	script, err := filepath.Abs("e2e/need-chromium.sh")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		uid      string
		chromium bool // installed before the script runs
		wantExit int
		wantApt  string // apt-get's calls, one a line
		wantOut  string
	}{
		{name: "installed", uid: "0", chromium: true, wantExit: 0, wantApt: ""},
		{name: "missing as root", uid: "0", wantExit: 0, wantApt: "update -qq\ninstall -y -qq chromium\n", wantOut: "Installing Debian's chromium"},
		{name: "missing as a user", uid: "1000", wantExit: 1, wantApt: "", wantOut: "sudo apt-get update && sudo apt-get install -y chromium"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			bin, aptLog := filepath.Join(dir, "bin"), filepath.Join(dir, "apt.log")
			if err := os.Mkdir(bin, 0o755); err != nil {
				t.Fatal(err)
			}
			write := func(name, body string) {
				if err := os.WriteFile(filepath.Join(bin, name), []byte("#!/bin/sh\n"+body), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			write("id", "echo "+tt.uid+"\n")
			write("apt-get", `echo "$*" >> `+aptLog+`
if [ "$1" = install ]; then printf '#!/bin/sh\n' > `+bin+`/chromium; /bin/chmod +x `+bin+`/chromium; fi
`)
			if tt.chromium {
				write("chromium", "")
			}

			cmd := exec.Command("/bin/sh", script)
			cmd.Env = []string{"PATH=" + bin, "HOME=" + dir}
			out, err := cmd.CombinedOutput()
			exit := 0
			if ee, ok := err.(*exec.ExitError); ok {
				exit = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if exit != tt.wantExit || !strings.Contains(string(out), tt.wantOut) {
				t.Errorf("exit %d, want %d; output:\n%s\nwant it to contain %q", exit, tt.wantExit, out, tt.wantOut)
			}
			apt, _ := os.ReadFile(aptLog)
			if string(apt) != tt.wantApt {
				t.Errorf("apt-get calls:\n%s\nwant:\n%s", apt, tt.wantApt)
			}
		})
	}
}
