package main

/*
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// limit_malloc_arenas keeps the C side's heap small. openh264 and Opus
// allocate with glibc's malloc from whatever thread a call's encoder runs on,
// and glibc gives each such thread an arena of its own that it never
// returns: make bench measured RSS after 100 calls at 90 MB with glibc's
// default, 73 MB with two arenas and 47 MB with one; a Pi Zero 2 W has 512 MB
// in all. It runs as an ELF constructor, before the Go runtime starts its
// first thread: a thread that has already taken an arena keeps it whatever
// mallopt says later, so the call at the top of main came too late. If one
// arena ever shows as lock contention in a profile, MALLOC_ARENA_MAX in the
// environment still wins (glibc reads it itself).
__attribute__((constructor)) static void limit_malloc_arenas(void) {
	if (getenv("MALLOC_ARENA_MAX") == NULL) {
		mallopt(M_ARENA_MAX, 1);
	}
}

// heap_arenas counts glibc's malloc arenas: malloc_info writes one <heap>
// element per arena.
static int heap_arenas(void) {
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (f == NULL) {
		return -1;
	}
	if (malloc_info(0, f) != 0) {
		fclose(f);
		free(buf);
		return -1;
	}
	fclose(f);
	int n = 0;
	for (char *p = buf; (p = strstr(p, "<heap nr=")) != NULL; p++) {
		n++;
	}
	free(buf);
	return n;
}

// touch_malloc allocates and frees from the calling thread, which gives the
// thread an arena if it has none.
static void touch_malloc(void) {
	free(malloc(4096));
}
*/
import "C"

import "errors"

// mallocArenas is how many malloc arenas glibc has made so far.
func mallocArenas() (int, error) {
	n := int(C.heap_arenas())
	if n < 0 {
		return 0, errors.New("malloc_info failed")
	}
	return n, nil
}

// touchMalloc mallocs once from the calling OS thread.
func touchMalloc() { C.touch_malloc() }
