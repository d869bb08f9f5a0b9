package panel

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"periph.io/x/conn/v3/driver/driverreg"
	pgpio "periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpioreg"
	// Only periph's /dev/gpiochip driver, on purpose: it is the one path
	// that works on every supported Pi (the Pi 5's RP1 has no other) and
	// the VM test's gpio-sim. periph.io/x/host/v3 would also load the
	// bcm283x driver, which writes BCM283x registers through /dev/gpiomem
	// or /dev/mem, registers that do not exist on a Pi 5.
	"periph.io/x/host/v3/gpioioctl"
)

// hostLines are the machine's GPIO lines, through periph's /dev/gpiochip
// driver.
type hostLines struct{}

var (
	periphOnce sync.Once
	periphErr  error
)

func (hostLines) lookup(name string) (pgpio.PinIO, error) {
	periphOnce.Do(func() { _, periphErr = driverreg.Init() })
	if periphErr != nil {
		return nil, fmt.Errorf("start periph: %w", periphErr)
	}
	if l := gpioreg.ByName(name); l != nil {
		return l, nil
	}
	return pinctrlLine(name), nil
}

// gpioName is a Broadcom pin name, as the Pi's own device tree names lines.
var gpioName = regexp.MustCompile(`^GPIO([0-9]{1,2})$`)

// pinctrlLine finds GPIOn by its offset on the Pi's main GPIO chip, for
// kernels whose device tree names some lines by function instead (a mainline
// Pi 3 calls GPIO4 "GPIO_GCLK"). The Pi's chip is the pinctrl-bcm2835,
// -bcm2711 or -rp1 one; periph lists pinctrl chips first.
func pinctrlLine(name string) pgpio.PinIO {
	m := gpioName.FindStringSubmatch(name)
	if m == nil {
		return nil
	}
	n, _ := strconv.Atoi(m[1])
	for _, c := range gpioioctl.Chips {
		if (strings.HasPrefix(c.Label(), "pinctrl-bcm") || strings.HasPrefix(c.Label(), "pinctrl-rp1")) && n < c.LineCount() {
			return c.ByNumber(n)
		}
	}
	return nil
}

func (hostLines) why() string {
	chips, _ := filepath.Glob("/dev/gpiochip*")
	if len(chips) == 0 {
		return "no /dev/gpiochip* on this machine"
	}
	for _, c := range chips {
		f, err := os.Open(c)
		if err != nil {
			return fmt.Sprintf("cannot open %s: %v (is the user in group gpio?)", c, err)
		}
		f.Close()
	}
	var names []string
	for i, l := range gpioreg.All() {
		if i == 12 {
			names = append(names, "...")
			break
		}
		names = append(names, l.Name())
	}
	return fmt.Sprintf("%d GPIO chips, with lines %s", len(gpioioctl.Chips), strings.Join(names, ", "))
}

func (hostLines) board() string {
	b, err := os.ReadFile("/proc/device-tree/model")
	if err != nil {
		return ""
	}
	model := strings.TrimRight(string(b), "\x00\n")
	if strings.HasPrefix(model, "Raspberry Pi") {
		return model
	}
	return ""
}
