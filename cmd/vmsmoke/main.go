// Command smoke runs inside the vmtest VM and checks the virtual devices
// intercomd will use, through the same libraries intercomd uses: the vivid
// camera through media/v4l2 (blackjack/webcam, as mediadevices' camera
// driver; the code a USB camera's own H.264 goes through), the vicodec
// memory-to-memory encoder through media/v4l2's Encoder, the snd-aloop card through ALSA (malgo, as mediadevices'
// microphone driver), and the gpio-sim lines by their Pi names through
// periph's /dev/gpiochip driver.
//
// It prints one "VMTEST PASS|FAIL <device>: <what>" line per check and exits
// non-zero when any check failed. It needs no intercomd: it proves the VM
// before the daemon is blamed for anything.
package main

import (
	"flag"
	"fmt"
	"os"
)

func main() {
	video := flag.String("video", "/dev/video0", "V4L2 capture device")
	width := flag.Int("width", 640, "expected frame width")
	height := flag.Int("height", 480, "expected frame height")
	play := flag.String("play", "hw:Loopback,1", "ALSA device the tone is played to")
	capture := flag.String("capture", "hw:Loopback,0", "ALSA device the tone is captured from")
	sysfs := flag.String("gpio-sysfs", os.Getenv("VMTEST_GPIO_SYSFS"), "gpio-sim chip directory in sysfs")
	after := flag.String("after", "", "name of the program that used the devices before (for the messages)")
	flag.Parse()
	when := ""
	if *after != "" {
		when = " after " + *after + " stopped"
	}

	checks := []struct {
		device string
		run    func() (string, error)
	}{
		{"camera", func() (string, error) { return checkCamera(*video, *width, *height) }},
		{"encoder", checkEncoder},
		{"sound", func() (string, error) { return checkLoopback(*play, *capture) }},
		{"gpio", func() (string, error) { return checkGPIO(*sysfs) }},
	}
	failed := 0
	for _, c := range checks {
		what, err := c.run()
		if err != nil {
			fmt.Printf("VMTEST FAIL %s: %v%s\n", c.device, err, when)
			failed++
			continue
		}
		fmt.Printf("VMTEST PASS %s: %s%s\n", c.device, what, when)
	}
	if failed > 0 {
		os.Exit(1)
	}
}
