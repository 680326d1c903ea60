package cli

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/spf13/pflag"

	"compozy.dev/setup/doctor"
)

// envReplicas is the variable that says how many compozy processes share the database, for
// postgres.connections' budget; doctor --replicas sets it for the run.
const envReplicas = "COMPOZY_REPLICAS"

// declareFleetFlags declares --replicas and --terminate.
func declareFleetFlags(fl *pflag.FlagSet, opts *doctorOptions) {
	fl.Var(&opts.replicas, "replicas", "how many compozy processes share the database, for the connection budget (env "+envReplicas+"; default 1)")
	fl.BoolVar(&opts.terminate, "terminate", false, "with --fix: offer to end the sessions postgres.locks names (pg_terminate_backend); asked on a terminal, --yes without one")
}

// checkFleetFlags validates --replicas, COMPOZY_REPLICAS and --terminate, and returns the
// environment the checks read: getenv, with --replicas as COMPOZY_REPLICAS when given.
func checkFleetFlags(opts *doctorOptions, getenv func(string) string) (func(string) string, error) {
	if opts.terminate && !opts.fix {
		return nil, usageErrorf("--terminate goes with --fix")
	}
	if opts.replicas.set {
		if opts.replicas.n < 1 {
			return nil, usageErrorf("--replicas must be 1 or more, got %d", opts.replicas.n)
		}
		n := strconv.Itoa(opts.replicas.n)
		return func(k string) string {
			if k == envReplicas {
				return n
			}
			return getenv(k)
		}, nil
	}
	if v := strings.TrimSpace(getenv(envReplicas)); v != "" {
		if n, err := strconv.Atoi(v); err != nil || n < 1 {
			return nil, usageErrorf("%s must be a whole number, 1 or more, got %q", envReplicas, v)
		}
	}
	return getenv, nil
}

// replicasFlag is --replicas: a whole number, and whether it was given at all (so that
// --replicas 0 is refused, not taken for "not given").
type replicasFlag struct {
	n   int
	set bool
}

func (r *replicasFlag) String() string {
	if !r.set {
		return ""
	}
	return strconv.Itoa(r.n)
}

func (r *replicasFlag) Set(v string) error {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil {
		return fmt.Errorf("must be a whole number, 1 or more, got %q", v)
	}
	r.n, r.set = n, true
	return nil
}

func (*replicasFlag) Type() string { return "N" }

// replicas is COMPOZY_REPLICAS as getenv sees it (checked by checkFleetFlags); 0 when unset.
func replicas(getenv func(string) string) int {
	n, _ := strconv.Atoi(strings.TrimSpace(getenv(envReplicas)))
	return max(n, 0)
}

// confirmGuarded decides a fix that needs a flag besides --fix (doctor.Repair.Flag): without
// the flag it is not done; with it, it is asked on a terminal, even with --yes, and without a
// terminal only --yes confirms it.
func confirmGuarded(r doctor.Result, flag, plan string, opts *doctorOptions, canPrompt bool, in *bufio.Reader, out io.Writer) (bool, error) {
	given := flag == "--terminate" && opts.terminate
	switch {
	case !given:
		fmt.Fprintf(out, "Not done %s: %s (needs %s; --fix and --yes alone never do it)\n", label(r), plan, flag)
		return false, nil
	case canPrompt:
		ok, err := confirm(in, out, fmt.Sprintf("%s: %s? [y/N] ", label(r), plan))
		if err == nil && !ok {
			fmt.Fprintf(out, "Skipped %s.\n", label(r))
		}
		return ok, err
	case !opts.yes:
		fmt.Fprintf(out, "Skipped %s: %s (not a terminal; pass %s --yes to apply)\n", label(r), plan, flag)
		return false, nil
	}
	return true, nil
}
