package jobs

import (
	"fmt"
	"sort"
	"strings"
)

// EnvPrefix starts the name of every schedule override variable.
const EnvPrefix = "POCKETSHOP_JOB_"

// EnvVar returns the environment variable that overrides the schedule of
// the named job: "expire-reservations" -> POCKETSHOP_JOB_EXPIRE_RESERVATIONS.
func EnvVar(job string) string {
	return EnvPrefix + strings.ToUpper(strings.ReplaceAll(job, "-", "_"))
}

// SchedulesFromEnv reads schedule overrides from environ (os.Environ()'s
// "KEY=value" form) for the given job names, keyed by job name, ready for
// Config.Schedules. A variable with the prefix that names no job, or a
// schedule that does not parse, is an error that names the variable, so that
// a typo stops the server at start instead of silently keeping a default.
// Empty values are ignored.
func SchedulesFromEnv(environ []string, jobNames []string) (map[string]string, error) {
	byVar := make(map[string]string, len(jobNames))
	for _, name := range jobNames {
		byVar[EnvVar(name)] = name
	}
	out := map[string]string{}
	for _, kv := range environ {
		key, value, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(key, EnvPrefix) {
			continue
		}
		value = strings.TrimSpace(value)
		if value == "" {
			continue
		}
		name, ok := byVar[key]
		if !ok {
			vars := make([]string, 0, len(byVar))
			for v := range byVar {
				vars = append(vars, v)
			}
			sort.Strings(vars)
			return nil, fmt.Errorf("%s: no such job schedule variable (known: %s)", key, strings.Join(vars, ", "))
		}
		if value != Off {
			if _, err := ParseSchedule(value); err != nil {
				return nil, fmt.Errorf("%s: %w", key, err)
			}
		}
		out[name] = value
	}
	return out, nil
}
