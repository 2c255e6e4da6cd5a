# Copyright: (c) 2026, llmserve.triton contributors
# SPDX-License-Identifier: GPL-3.0-or-later
# shellcheck shell=bash
# Sourced by the test scripts: read an ansible-playbook PLAY RECAP from a saved output.
#   recap_line FILE [HOST]     -> the host's recap line (HOST defaults to localhost)
#   recap FILE FIELD [HOST]    -> the value of FIELD= in it, e.g. `recap out.log changed` -> 0
recap_line() { grep -E "^${2:-localhost}[[:space:]]+:" "$1" | tail -1; }
recap() { recap_line "$1" "${3:-localhost}" | grep -oE "$2=[0-9]+" | cut -d= -f2; }
