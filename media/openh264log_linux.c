// OpenH264 (linked statically through mediadevices) writes its trace lines
// to stderr with fprintf, at warning level by default, and mediadevices
// initialises each encoder before anyone could lower that level: every call
// printed two warnings about parameters we chose on purpose. A program's own
// fprintf takes the place of libc's for the code linked into it, so this one
// hands OpenH264's lines to the Go log (openh264Trace in openh264log_linux.go)
// and passes everything else to libc's vfprintf unchanged.
#undef _FORTIFY_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "_cgo_export.h"

int fprintf(FILE *stream, const char *format, ...) {
	va_list ap;
	int n;
	va_start(ap, format);
	if (stream == stderr && strcmp(format, "%s\n") == 0) {
		const char *msg = va_arg(ap, const char *);
		if (msg != NULL && strncmp(msg, "[OpenH264]", 10) == 0) {
			va_end(ap);
			openh264Trace((char *)msg);
			return (int)strlen(msg) + 1;
		}
		va_end(ap);
		va_start(ap, format);
	}
	n = vfprintf(stream, format, ap);
	va_end(ap);
	return n;
}
