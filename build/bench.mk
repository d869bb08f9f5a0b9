# Benchmarks (cmd/bench/): `make bench` measures intercomd on this machine
# and rewrites docs/BENCHMARKS.md. About 25 minutes on 2 cores; not part of
# `make test` or CI. A benchmark that fails is written into the document as
# failed and the others still run: the target fails only if the tools cannot
# be installed or built. BENCH_FLAGS passes flags to bin/bench, e.g.
#   make bench BENCH_FLAGS='-sections glass,setup -quick -out /tmp/b.md'
# build/bench-x264.sh (after make bench) sets openh264 beside libx264, the
# encoders alone on the same frames, natively and arm64 under qemu-user.
.PHONY: bench
BENCH_FLAGS ?=

bench:
	build/deps.sh bench
	$(GO) build -ldflags '$(LDFLAGS)' -o bin/intercomd ./cmd/intercomd
	$(GO) build -o bin/hubload ./cmd/hubload
	$(GO) build -o bin/bench-encode ./cmd/bench/encode
	$(GO) build -o bin/bench ./cmd/bench
	bin/bench -out docs/BENCHMARKS.md $(BENCH_FLAGS)
