package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/intercomd/intercomd/internal/resident"
)

// benchPicam measures the door's CPU with the camera module's two paths, at
// the same size and rate: the hardware encoder's H.264 passed through
// (Zero 2 W, 3, 4) against rpicam-vid's YUV420 encoded by openh264 (Pi 5,
// or camera_encoder: software). The stand-in rpicam-vid
// (internal/rpicamtest) plays the camera; its own CPU (openh264 standing
// in for the VideoCore, or painting frames) is the Pi's hardware's and is
// reported apart, not in the door's figure.
func benchPicam(ctx context.Context, e *env) (*result, error) {
	dir, err := os.MkdirTemp("", "bench-rpicam-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	build := exec.CommandContext(ctx, "go", "build", "-o", filepath.Join(dir, "rpicam-vid"), "./internal/rpicamtest/rpicam-vid")
	build.Dir = e.repo
	if out, err := build.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("build the stand-in rpicam-vid: %v: %s", err, out)
	}
	window := 20 * time.Second
	if e.quick {
		window = 5 * time.Second
	}
	const w, h = 640, 480
	var rows [][]string
	for _, path := range []struct{ encoder, name string }{
		{"hardware", "hardware H.264, passed through"},
		{"software", "YUV420, openh264 in the door"},
	} {
		r, child, err := runPicam(ctx, e, dir, path.encoder, w, h, window)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path.encoder, err)
		}
		e.log("picam %s: door %.1f %% CPU, stand-in %.1f %%, %.0f kbit/s, %.1f fps", path.encoder, r.cpu*100, child*100, r.kbps, r.fps)
		rows = append(rows, []string{path.name, fmt.Sprintf("%.1f %%", r.cpu*100), fmt.Sprintf("%.1f %%", child*100),
			fmt.Sprintf("%.0f", r.kbps), fmt.Sprintf("%.1f", r.fps)})
	}
	body := fmt.Sprintf("The door (intercomd) sending one call's %dx%d@30 video from the camera module, "+
		"measured over %v after the first frames, a pion resident receiving. The stand-in rpicam-vid's CPU "+
		"is openh264 standing in for the Pi's hardware encoder, or painting the raw frames: on a Pi that "+
		"work is the ISP's and the VideoCore's, not the CPU's. Only a Pi gives the real figures.\n\n",
		w, h, window) + table([]string{"path", "door CPU (1 core = 100 %)", "stand-in rpicam-vid CPU", "kbit/s sent", "frames/s"}, rows)
	return &result{command: "bin/bench -sections picam -out /tmp/picam.md", body: body}, nil
}

// runPicam runs the door on the stand-in camera module with one call, and
// returns the door's figures and the stand-in's CPU.
func runPicam(ctx context.Context, e *env, standin, encoder string, w, h int, window time.Duration) (encoderRun, float64, error) {
	var r encoderRun
	d, err := startDaemon(ctx, e.intercomd, daemonConfig{Camera: "picam", Width: w, Height: h,
		YAML: "camera_encoder: " + encoder + "\n",
		Env:  []string{"PATH=" + standin + string(os.PathListSeparator) + os.Getenv("PATH")}})
	if err != nil {
		return r, 0, err
	}
	defer d.stop()
	res, err := resident.Dial(ctx, d.wsURL(), resident.Options{Name: "bench"})
	if err != nil {
		return r, 0, err
	}
	defer res.Close()
	c, err := res.Call(ctx, "door", resident.CallOptions{})
	if err != nil {
		return r, 0, err
	}
	defer c.Hangup()
	if err := c.WaitFrames(ctx, 1, 30*time.Second); err != nil {
		return r, 0, err
	}
	settle(ctx, 2*time.Second)
	kid, err := childPid(d.pid)
	if err != nil {
		return r, 0, err
	}
	m, err := startCPU(d.pid)
	if err != nil {
		return r, 0, err
	}
	km, err := startCPU(kid)
	if err != nil {
		return r, 0, err
	}
	b0, f0 := c.Counts().VideoBytes, c.Counts().VideoFrames
	settle(ctx, window)
	if r.cpu, err = m.stop(); err != nil {
		return r, 0, err
	}
	child, err := km.stop()
	if err != nil {
		return r, 0, fmt.Errorf("rpicam-vid stopped during the window: %w", err)
	}
	secs := time.Since(m.t0).Seconds()
	r.kbps = float64(c.Counts().VideoBytes-b0) * 8 / 1000 / secs
	r.fps = float64(c.Counts().VideoFrames-f0) / secs
	if r.fps < 1 {
		return r, 0, fmt.Errorf("door sent %.1f frames/s during the window", r.fps)
	}
	return r, child, ctx.Err()
}

// childPid is the one child process of pid (the door's rpicam-vid).
func childPid(pid int) (int, error) {
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		return 0, err
	}
	for _, t := range tasks {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/children", pid, t.Name()))
		if err != nil {
			continue
		}
		if f := strings.Fields(string(b)); len(f) > 0 {
			var kid int
			if _, err := fmt.Sscan(f[0], &kid); err == nil {
				return kid, nil
			}
		}
	}
	return 0, fmt.Errorf("intercomd %d runs no rpicam-vid", pid)
}
