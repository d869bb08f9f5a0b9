package main

/*
#include <malloc.h>
*/
import "C"

// limitMallocArenas keeps the C side's heap small. openh264 and Opus allocate
// with glibc's malloc from whatever thread a call's encoder runs on, and glibc
// gives each such thread an arena of its own that it never returns: make
// bench measured RSS after 100 calls at 90 MB with glibc's default, 73 MB
// with two arenas and 47 MB with one, flat from call 50 on; a Pi Zero 2 W
// has 512 MB in all. If one arena ever shows as lock contention in a
// profile, MALLOC_ARENA_MAX in the environment still wins.
func limitMallocArenas() {
	C.mallopt(C.M_ARENA_MAX, 1)
}
