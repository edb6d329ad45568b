#!/usr/bin/env bash
# Make sure the services MUTT's dev run and tests need are up on this machine:
# Redis on 127.0.0.1:6379 and PostgreSQL on 127.0.0.1:5432 (trust auth).
# Starts what is installed but stopped; installs from Debian's packages what is
# missing, and Prometheus with promtool (`mutt dev` runs one for the SLO report;
# the SLO tests run one and promtool checks the rules). Idempotent; safe to run
# before every `make run` / `make test`.
set -euo pipefail

need_apt_update=1
apt_install() {
  if [ "$need_apt_update" = 1 ]; then apt-get update -qq >/dev/null; need_apt_update=0; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  command -v redis-server >/dev/null || apt_install redis-server
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
  for _ in $(seq 1 50); do redis-cli -h 127.0.0.1 ping >/dev/null 2>&1 && break; sleep 0.1; done
fi
redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null

if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
  if ! ls /etc/postgresql/*/main >/dev/null 2>&1; then apt_install postgresql; fi
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -n1)" main start || true
  for _ in $(seq 1 100); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 0.2; done
fi
pg_isready -q -h 127.0.0.1 -p 5432

# Prometheus and promtool: `mutt dev` runs a Prometheus scraping its roles (the SLO report queries it),
# the SLO tests run a real one, and promtool checks the rules.
if ! { command -v prometheus && command -v promtool; } >/dev/null 2>&1; then
  apt_install --no-install-recommends prometheus
fi

# Chromium: the web UI's browser test (api/ui_browser_test.go) drives it headless.
if [ "${1:-}" = "--test" ]; then
  command -v chromium >/dev/null 2>&1 || apt_install --no-install-recommends chromium
fi

# net-snmp: the SNMP-trap tests send with snmptrap/snmpinform (Debian snmp)
# and run deploy/snmptrapd/ with a real snmptrapd; jq and curl are its forwarder's.
if [ "${1:-}" = "--test" ]; then
  { command -v snmptrap && command -v snmpinform; } >/dev/null 2>&1 || apt_install --no-install-recommends snmp
  command -v snmptrapd >/dev/null 2>&1 || apt_install --no-install-recommends snmptrapd
  { command -v jq && command -v curl; } >/dev/null 2>&1 || apt_install --no-install-recommends jq curl
fi

# util-linux logger and rsyslogd: the syslog listener tests send with logger,
# and deploy/rsyslog's example is checked with rsyslogd -N1.
if [ "${1:-}" = "--test" ]; then
  command -v logger >/dev/null 2>&1 || apt_install bsdutils
  command -v rsyslogd >/dev/null 2>&1 || apt_install --no-install-recommends rsyslog
fi
