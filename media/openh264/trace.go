package openh264

import "C"

import (
	"sync/atomic"
	"unsafe"
)

// trace receives openh264's log lines (errors and warnings). openh264 has
// one such callback per encoder, but its users want one for the process.
var trace atomic.Pointer[func(err bool, line string)]

// SetTrace sends openh264's log lines, from encoders made after it, to f;
// err says the line is an error (the rest are warnings). nil: dropped.
func SetTrace(f func(err bool, line string)) {
	if f == nil {
		trace.Store(nil)
		return
	}
	trace.Store(&f)
}

//export h264Trace
func h264Trace(_ unsafe.Pointer, level C.int, msg *C.char) {
	if f := trace.Load(); f != nil {
		(*f)(level == C.int(1), C.GoString(msg)) // WELS_LOG_ERROR
	}
}
