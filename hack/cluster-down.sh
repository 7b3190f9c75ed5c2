#!/usr/bin/env bash
# make cluster-down: stops every process `make cluster-up` started in DIR,
# by PID, last started first (kube-apiserver before etcd), then removes DIR.
set -uo pipefail
DIR=${1:?usage: hack/cluster-down.sh DIR}
[[ -d $DIR ]] || { echo "cluster-down: no cluster in $DIR" >&2; exit 0; }
while IFS= read -r list; do
  base=$(dirname "$list")
  while IFS= read -r name; do
    pidfile=$base/$name.pid
    [[ -f $pidfile ]] || continue
    pid=$(<"$pidfile")
    # Each process leads its own process group: signal the group.
    if kill -TERM -- "-$pid" 2>/dev/null; then
      for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -KILL -- "-$pid" 2>/dev/null
    fi
    rm -f "$pidfile"
    echo "stopped $name ($pid)"
  done < <(tac "$list")
done < <(find "$DIR" -name processes)
rm -rf "$DIR"
