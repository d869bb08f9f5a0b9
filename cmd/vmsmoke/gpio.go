package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpioreg"
	"periph.io/x/host/v3"
)

// checkGPIO finds the Pi-named gpio-sim lines through periph's /dev/gpiochip
// driver: a button line (GPIO17, Call) must follow a press made through
// gpio-sim's pull, and an LED line (GPIO23, Ringing) driven by periph must
// show up in gpio-sim's value.
func checkGPIO(sysfs string) (string, error) {
	if sysfs == "" {
		return "", fmt.Errorf("gpio-sim chip unknown (VMTEST_GPIO_SYSFS unset)")
	}
	if _, err := host.Init(); err != nil {
		return "", fmt.Errorf("periph host.Init: %w", err)
	}
	btn := gpioreg.ByName("GPIO17")
	if btn == nil {
		return "", fmt.Errorf("periph knows no line GPIO17 (%d pins registered)", len(gpioreg.All()))
	}
	if err := btn.In(gpio.PullUp, gpio.BothEdges); err != nil {
		return "", fmt.Errorf("GPIO17: request as input: %w", err)
	}
	defer btn.Halt()
	if l := btn.Read(); l != gpio.High {
		return "", fmt.Errorf("GPIO17 reads %v with pull-up, want High", l)
	}
	pull := filepath.Join(sysfs, "sim_gpio17", "pull")
	for _, step := range []struct {
		pull string
		want gpio.Level
	}{{"pull-down", gpio.Low}, {"pull-up", gpio.High}} {
		if err := os.WriteFile(pull, []byte(step.pull), 0); err != nil {
			return "", fmt.Errorf("gpio-sim: %w", err)
		}
		if !btn.WaitForEdge(5 * time.Second) {
			return "", fmt.Errorf("GPIO17: no edge within 5 s after %s", step.pull)
		}
		if l := btn.Read(); l != step.want {
			return "", fmt.Errorf("GPIO17 reads %v after %s, want %v", l, step.pull, step.want)
		}
	}

	led := gpioreg.ByName("GPIO23")
	if led == nil {
		return "", fmt.Errorf("periph knows no line GPIO23")
	}
	defer led.Halt()
	value := filepath.Join(sysfs, "sim_gpio23", "value")
	for _, l := range []gpio.Level{gpio.High, gpio.Low} {
		if err := led.Out(l); err != nil {
			return "", fmt.Errorf("GPIO23: drive %v: %w", l, err)
		}
		b, err := os.ReadFile(value)
		if err != nil {
			return "", fmt.Errorf("gpio-sim: %w", err)
		}
		want := "0"
		if l == gpio.High {
			want = "1"
		}
		if got := strings.TrimSpace(string(b)); got != want {
			return "", fmt.Errorf("GPIO23 driven %v, gpio-sim value is %s", l, got)
		}
	}
	// Every other line of the Pi's panel must be free to request.
	for _, l := range []struct {
		name string
		out  bool
	}{{"GPIO27", false}, {"GPIO22", false}, {"GPIO24", true}, {"GPIO25", true}, {"GPIO18", true}} {
		p := gpioreg.ByName(l.name)
		if p == nil {
			return "", fmt.Errorf("periph knows no line %s", l.name)
		}
		var err error
		if l.out {
			err = p.Out(gpio.Low)
		} else {
			err = p.In(gpio.PullUp, gpio.NoEdge)
		}
		if err != nil {
			return "", fmt.Errorf("%s cannot be requested (still held?): %w", l.name, err)
		}
		p.Halt()
	}
	return fmt.Sprintf("GPIO17 (Call) follows presses, GPIO23 (Ringing LED) follows periph, GPIO18/22/24/25/27 free, on %s", filepath.Base(sysfs)), nil
}
