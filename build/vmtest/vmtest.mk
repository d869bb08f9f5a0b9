# The VM test (build/vmtest/vmtest.sh, docs/TESTING.md): intercomd's real
# drivers on a virtual camera, sound card and GPIO lines in a QEMU VM.
# VMTEST=smoke picks scenarios; the default runs them all.
VMTEST ?=

.PHONY: vmtest
vmtest:
	build/vmtest/vmtest.sh $(VMTEST)
