package media

import (
	"context"

	"github.com/pion/mediadevices/pkg/driver"
	"github.com/pion/mediadevices/pkg/frame"
	"github.com/pion/mediadevices/pkg/io/video"
	"github.com/pion/mediadevices/pkg/prop"
)

// paintedDriver is a picture painted in software (the clock, the test
// pattern) behind the camera interface the rest of media uses: it is
// opened, records at one size and rate, and is closed.
type paintedDriver struct {
	id, desc string
	// record paints frames at p's size, paced at its rate, until done.
	record func(done <-chan struct{}, p prop.Media) (video.Reader, error)

	ctx    context.Context
	cancel context.CancelFunc
}

var _ driver.VideoRecorder = (*paintedDriver)(nil)

func (d *paintedDriver) Open() error {
	d.ctx, d.cancel = context.WithCancel(context.Background())
	return nil
}

func (d *paintedDriver) Close() error {
	if d.cancel != nil {
		d.cancel()
	}
	return nil
}

func (d *paintedDriver) Properties() []prop.Media {
	return []prop.Media{{Video: prop.Video{Width: DefaultWidth, Height: DefaultHeight, FrameRate: DefaultFPS, FrameFormat: frame.FormatI420}}}
}

func (d *paintedDriver) ID() string { return d.id }

func (d *paintedDriver) Info() driver.Info {
	return driver.Info{Label: d.id, DeviceType: driver.Camera, Name: d.desc}
}

func (d *paintedDriver) Status() driver.State { return driver.StateOpened }

func (d *paintedDriver) VideoRecord(p prop.Media) (video.Reader, error) {
	return d.record(d.ctx.Done(), p)
}

// openPainted opens d and starts it at the configured size and rate.
func openPainted(d *paintedDriver, width, height, fps int) (*camera, error) {
	if err := d.Open(); err != nil {
		return nil, err
	}
	r, err := d.VideoRecord(prop.Media{Video: prop.Video{Width: width, Height: height, FrameRate: float32(fps)}})
	if err != nil {
		d.Close()
		return nil, err
	}
	return &camera{driver: d, reader: r, desc: d.desc, width: width, height: height, fps: fps}, nil
}
