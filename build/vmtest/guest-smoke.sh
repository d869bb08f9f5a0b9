#!/bin/sh
# Guest side of the smoke scenario: the devices alone, no intercomd.
exec ./bin/smoke -gpio-sysfs "$VMTEST_GPIO_SYSFS"
