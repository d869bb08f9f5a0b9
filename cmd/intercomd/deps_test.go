package main

import (
	"bytes"
	"os/exec"
	"testing"
)

// intercomd reaches GPIO through periph's /dev/gpiochip driver alone: the
// bcm283x driver that periph.io/x/host/v3 pulls in writes BCM283x registers
// through /dev/gpiomem or /dev/mem, which on a Pi 5 are not GPIO at all.
func TestNoMemoryMappedGPIO(t *testing.T) {
	for _, goarch := range []string{"arm64", "arm"} {
		cmd := exec.Command("go", "list", "-deps", ".")
		cmd.Env = append(cmd.Environ(), "GOOS=linux", "GOARCH="+goarch, "CGO_ENABLED=1")
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("go list -deps (%s): %v", goarch, err)
		}
		for _, banned := range []string{"periph.io/x/host/v3/bcm283x", "periph.io/x/host/v3/pmem", "periph.io/x/host/v3/sysfs"} {
			if bytes.Contains(out, []byte(banned+"\n")) {
				t.Errorf("intercomd (%s) imports %s; use only periph.io/x/host/v3/gpioioctl", goarch, banned)
			}
		}
	}
}
