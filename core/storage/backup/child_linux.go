//go:build linux

package backup

import (
	"os/exec"
	"syscall"
)

// dieWithUs makes the kernel kill cmd when compozy dies, also by kill -9: a pg_dump left running
// would hold its snapshot on the server for as long as the dump takes, writing into a temporary
// file the next backup sweeps.
func dieWithUs(cmd *exec.Cmd) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
}
