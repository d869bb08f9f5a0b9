// Package browser holds the host half of the VM door test: headless
// Chromium on the host logs in to intercomd inside the VM and calls the
// door through QEMU's forwarded ports (HTTPS and the single media UDP
// port), and must decode its video. Its test is built only with the vmtest
// tag: build/vmtest/vmtest.sh runs it while the VM waits.
package browser
