#!/bin/sh
# Run by `npm test` before the suite: the browser tests drive Debian's Chromium,
# the metrics test runs promtool (Debian's prometheus package), the SOAP
# client test drives Python's zeep (python3-zeep, for Debian's /usr/bin/python3,
# whatever `python3` on PATH is), the legacy SQS client test drives Debian's
# AWS CLI (awscli, /usr/bin/aws) and boto3 (python3-boto3), the releases that
# speak SQS's query protocol, jest's globalSetup starts a throw-away
# PostgreSQL server (initdb and postgres from Debian's postgresql; setpriv from
# util-linux starts it), and the README test runs the README's curl commands
# (curl; flock from util-linux). npm cannot install any of them, so what is
# missing is installed with apt-get here, once; a machine that has them all
# skips this in an instant. Without root (and no password-less sudo) the
# missing packages are named and the run fails: the tests that need them would
# fail anyway, and must never be skipped.
set -eu
missing=""
[ -x /usr/bin/chromium ] || missing="$missing chromium"
command -v promtool >/dev/null 2>&1 || missing="$missing prometheus"
/usr/bin/python3 -c 'import zeep' >/dev/null 2>&1 || missing="$missing python3-zeep"
[ -x /usr/bin/aws ] || missing="$missing awscli"
/usr/bin/python3 -c 'import boto3' >/dev/null 2>&1 || missing="$missing python3-boto3"
# pg_config alone proves nothing: Debian's comes with libpq-dev and names the bin dir without a server in it.
pg_bin="$(pg_config --bindir 2>/dev/null || true)"
if [ -z "$pg_bin" ] || [ ! -x "$pg_bin/initdb" ]; then
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$missing postgresql"
fi
command -v setpriv >/dev/null 2>&1 || missing="$missing util-linux"
command -v curl >/dev/null 2>&1 || missing="$missing curl"
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
  as_root=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  as_root="sudo -n"
else
  echo "npm test needs the Debian packages:$missing. Install them as root: apt-get install -y$missing" >&2
  exit 1
fi
echo "npm test: installing the Debian packages the tests need:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
$as_root apt-get update -qq
# shellcheck disable=SC2086 # one word per package
$as_root apt-get install -y -qq --no-install-recommends $missing >/dev/null
