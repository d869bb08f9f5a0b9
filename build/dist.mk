# Packaging for the Raspberry Pi (build/dist.sh, build/dist-test.sh).
.PHONY: dist dist-test

# dist/intercomd_VERSION_arm64.deb and dist/intercomd_VERSION_armhf.deb.
dist:
	build/dist.sh

# Builds the packages, then checks them: the binaries under qemu-user, the
# package contents and fields, lintian and systemd-analyze verify.
dist-test: dist
	build/dist-test.sh
