package main

/*
#include <malloc.h>
*/
import "C"

// limitMallocArenas keeps the C side's heap small. openh264 and Opus allocate
// with glibc's malloc from whatever thread a call's encoder runs on, and glibc
// gives each such thread an arena of its own that it never returns: make
// bench measured RSS climbing from 36 MB to 90 MB over 100 calls, and 47 MB
// with one arena. Two keep a little concurrency; a Pi Zero 2 W has 512 MB in
// all. MALLOC_ARENA_MAX in the environment still wins.
func limitMallocArenas() {
	C.mallopt(C.M_ARENA_MAX, 2)
}
