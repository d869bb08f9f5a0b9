#!/usr/bin/env python3
"""Plays systemd's side of Type=notify for one command, for dist-test.sh.

Usage: sdnotify.py TIMEOUT_S -- COMMAND...

Starts COMMAND with NOTIFY_SOCKET and WATCHDOG_USEC set, as systemd does for
intercomd.service, and checks the contract the unit relies on: READY=1 arrives,
then a WATCHDOG=1 ping, and on SIGTERM the command exits 0. Prints the time
from start to READY, and exits non-zero with a message on any failure.
"""
import atexit
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

WATCHDOG_USEC = 3_000_000  # the daemon pings at a third of it


def main():
    if len(sys.argv) < 4 or sys.argv[2] != "--":
        sys.exit("usage: sdnotify.py TIMEOUT_S -- COMMAND...")
    timeout = float(sys.argv[1])
    cmd = sys.argv[3:]
    tmp = tempfile.mkdtemp(prefix="sdnotify.")
    atexit.register(shutil.rmtree, tmp, True)
    path = os.path.join(tmp, "notify")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    env = dict(os.environ, NOTIFY_SOCKET=path, WATCHDOG_USEC=str(WATCHDOG_USEC))
    log = open(os.path.join(tmp, "log"), "w+")
    start = time.monotonic()
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
    # Whatever happens here, the command does not outlive this script.
    atexit.register(lambda: proc.poll() is None and (proc.kill(), proc.wait()))

    def fail(msg):
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        log.seek(0)
        sys.stderr.write(log.read()[-4000:])
        sys.exit("sdnotify: " + msg)

    def wait_for(word, deadline):
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                fail("no %s within %.0f s" % (word, timeout))
            if proc.poll() is not None:
                fail("command exited with %d before %s" % (proc.returncode, word))
            sock.settimeout(min(left, 0.5))
            try:
                msg = sock.recv(4096).decode()
            except socket.timeout:
                continue
            if word in msg.split("\n"):
                return time.monotonic()

    ready = wait_for("READY=1", start + timeout)
    print("ready_ms=%d" % ((ready - start) * 1000), flush=True)
    wait_for("WATCHDOG=1", ready + timeout)
    print("watchdog=ok")
    proc.send_signal(signal.SIGTERM)
    try:
        code = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        fail("still running %.0f s after SIGTERM" % timeout)
    if code != 0:
        fail("exit status %d after SIGTERM, want 0" % code)
    print("sigterm_exit=0")


if __name__ == "__main__":
    main()
