#!/bin/sh
# A python3 without moto, as a machine that never ran pip install would have: its error,
# traceback included, is what the demo must turn into one line.
echo 'Traceback (most recent call last):' >&2
echo "ModuleNotFoundError: No module named 'moto'" >&2
exit 1
