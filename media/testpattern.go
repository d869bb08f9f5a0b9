package media

import (
	"fmt"
	"image"
	"io"
	"time"

	"github.com/intercomd/intercomd/internal/testpattern"
	"github.com/pion/mediadevices/pkg/io/video"
	"github.com/pion/mediadevices/pkg/prop"
)

// recordPattern paces the test pattern (internal/testpattern: the look of
// mediadevices' VideoTest, painted in I420 with only its noise repainted
// per frame; VideoTest's copies, random draws and 4:2:2 conversion were a
// tenth of the door's CPU in a call) at p.FrameRate.
func recordPattern(done <-chan struct{}, p prop.Media) (video.Reader, error) {
	if p.Width < 2 || p.Height < 2 || p.FrameRate <= 0 {
		return nil, fmt.Errorf("test pattern: %dx%d at %g frames/s", p.Width, p.Height, p.FrameRate)
	}
	pat := testpattern.New(p.Width, p.Height)
	tick := time.NewTicker(time.Duration(float64(time.Second) / float64(p.FrameRate)))
	return video.ReaderFunc(func() (image.Image, func(), error) {
		select {
		case <-done:
			tick.Stop()
			return nil, func() {}, io.EOF
		case <-tick.C:
		}
		return pat.Next(), func() {}, nil
	}), nil
}

// openTestCamera starts the test pattern at the configured size.
func openTestCamera(width, height, fps int) (*camera, error) {
	return openPainted(&paintedDriver{id: "test-pattern", desc: descTestPattern, record: recordPattern}, width, height, fps)
}
