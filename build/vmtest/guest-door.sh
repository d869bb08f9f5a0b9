#!/bin/sh
# Guest side of the door and echo scenarios: intercomd with the Pi's own config file
# and its real drivers (V4L2 camera, ALSA through malgo, GPIO through
# periph's /dev/gpiochip driver), then the resident client, then (when the
# host asked for it) a pause while Chromium on the host calls the door
# through the forwarded ports. Finally intercomd must stop cleanly and leave
# every device working for the next program.
arg() { sed -n "s/.*vmtest\.$1=\([^ ]*\).*/\1/p" /proc/cmdline; }
media_port=$(arg mediaport)
host_step=$(arg hoststep)
run_client=$(arg client)
calls=$(arg calls)
log_level=$(arg loglevel)
password=vmtest-door-password
fails=0
fail() { echo "VMTEST FAIL $1: $2"; fails=$((fails + 1)); }

# The VM first, so a broken device is not blamed on intercomd.
echo "vmtest: the devices before intercomd starts:"
./bin/smoke -gpio-sysfs "$VMTEST_GPIO_SYSFS" || fails=$((fails + 1))

mkdir -p /etc/intercomd /var/lib/intercomd
cp intercomd.yaml /etc/intercomd/intercomd.yaml
# The Pi's config, with only what differs in this VM on the command line:
# the sound card is the loopback card (card 0), HTTPS stays on 443 without
# the port 80 redirect, media on one forwarded UDP port announced as
# 127.0.0.1 (the host's end of the forward, and the guest's own loopback).
# The resident client runs in the guest beside the door, so its candidates
# are the door's own addresses, which the door refuses unless told
# (-media-local-peers). The echo canceller stays on, as on the Pi (the
# client relays what the door plays back into its microphone); noise
# suppression is off: the visitor's test signal is a steady tone, which the
# suppressor takes out.
./bin/intercomd -config /etc/intercomd/intercomd.yaml -mic hw:0,0 -speaker hw:0,0 -gpio real -noise-suppression=false \
	-media-port "${media_port:-50000}" -advertise 127.0.0.1 -media-local-peers -log-level "${log_level:-info}" >/tmp/intercomd.log 2>&1 &
pid=$!

if [ "$run_client" != 0 ]; then
	./bin/client -url https://127.0.0.1:443 -password "$password" -gpio-sysfs "$VMTEST_GPIO_SYSFS" -alsa hw:Loopback,1 -pid $pid -calls "${calls:-all}" ||
		fails=$((fails + 1))
else
	# Only set the password (the client's first step), for the host.
	./bin/client -url https://127.0.0.1:443 -password "$password" -pid $pid -setup-only || fails=$((fails + 1))
fi

if [ "$host_step" = 1 ] && ! kill -0 $pid 2>/dev/null; then
	echo "VMTEST FAIL browser: not run: intercomd is not running"
elif [ "$host_step" = 1 ]; then
	# The host runs Chromium against the forwarded ports, then connects
	# to port 7000 to let the guest go on.
	nc -l -p 7000 >/tmp/host.done &
	ncpid=$!
	echo "VMTEST HOST-STEP"
	wait $ncpid
	echo "VMTEST HOST-DONE"
	# The host's verdict; on failure intercomd's log is printed below.
	grep -q PASS /tmp/host.done || fails=$((fails + 1))
fi

if kill -0 $pid 2>/dev/null; then
	kill -TERM $pid
	i=0
	while kill -0 $pid 2>/dev/null && [ $i -lt 200 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	if kill -0 $pid 2>/dev/null; then
		fail intercomd "still running 20 s after SIGTERM (goroutine dump in its log below)"
		kill -QUIT $pid
		sleep 2
		kill -KILL $pid 2>/dev/null
	else
		wait $pid
		rc=$?
		[ $rc = 0 ] || fail intercomd "exited with status $rc after SIGTERM"
	fi
else
	wait $pid
	rc=$?
	fail intercomd "died during the test with status $rc: $(grep -v '^\s*$' /tmp/intercomd.log | tail -n 1)"
fi

# With intercomd gone, every device must work again for someone else: a
# camera still streaming, a PCM left open or a GPIO line still requested
# shows up here.
echo "vmtest: the devices after intercomd stopped:"
./bin/smoke -gpio-sysfs "$VMTEST_GPIO_SYSFS" -after intercomd || fails=$((fails + 1))

if [ $fails -gt 0 ]; then
	echo "---- intercomd's log (last 120 lines) ----"
	tail -n 120 /tmp/intercomd.log | sed 's/^/intercomd: /'
	echo "----"
fi
[ $fails = 0 ]
