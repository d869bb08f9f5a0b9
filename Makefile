# intercomd: see README.md. Every target installs what it needs when missing.
GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)
LISTEN  ?= localhost:8080

.PHONY: all build run test test-nobrowser test-browser fuzz clean screenshots

all: build

# The first build compiles the C codecs and the sound library (cgo), which
# takes a minute or two without a word from go build: say so when Go's build
# cache lacks them.
CGO_PKGS := ./media/openh264 github.com/pion/mediadevices/pkg/codec/opus github.com/gen2brain/malgo

build:
	build/deps.sh run
	@if $(GO) list -f '{{.Stale}}' $(CGO_PKGS) 2>/dev/null | grep -q true; then \
	  echo "make: compiling OpenH264, Opus and miniaudio (C, through cgo) into Go's build cache: 1 to 2 minutes on 2 cores, once; later builds take seconds" >&2; fi
	$(GO) build -ldflags '$(LDFLAGS)' -o bin/intercomd ./cmd/intercomd

# A full demo on a laptop: test pattern camera, test tone microphone and a
# simulated button panel stand in for what the machine lacks.
run: build
	bin/intercomd -listen $(LISTEN) -no-auth

test:
	build/deps.sh test
	build/cache-test.sh
	build/jstest/install.sh
	$(GO) vet ./...
	GO=$(GO) build/gotest.sh -count=1 -timeout 30m ./...

# The tests that start Chromium or Firefox are named TestChromium... and
# TestFirefox... (internal/chromiumtest checks it): run them apart from the
# rest, e.g. on a shared machine under a lock (docs/TESTING.md).
BROWSER_TESTS := ^Test(Chromium|Firefox)
test-nobrowser:
	build/deps.sh test
	$(GO) test -count=1 -timeout 30m -skip '$(BROWSER_TESTS)' ./...

test-browser:
	build/deps.sh test
	build/jstest/install.sh
	$(GO) test -count=1 -timeout 30m -run '$(BROWSER_TESTS)' ./...

# Runs each fuzz target for a short while (FUZZTIME=30s make fuzz).
FUZZTIME ?= 10s
fuzz:
	build/deps.sh test
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz'); do \
	    echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

# The phone screenshots in docs/screenshots (TestChromiumPhoneScreenshots, headless
# Chromium at 390x844: English dark, German light).
screenshots:
	build/deps.sh test
	mkdir -p docs/screenshots
	INTERCOM_SCREENSHOTS=$(CURDIR)/docs/screenshots $(GO) test -count=1 -run '^TestChromiumPhoneScreenshots$$' ./web/

clean:
	rm -rf bin dist

# Packaging (build/dist.mk), the VM test (build/vmtest/vmtest.mk) and the
# benchmarks (build/bench.mk) keep their targets beside their scripts.
-include build/*.mk build/*/*.mk
