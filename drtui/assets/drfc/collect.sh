#!/usr/bin/env bash
# drtui's DRfC log collector: appends the robomaker (replica 1) and SageMaker container logs of
# one training to ONE file, each line tagged "[robomaker] " or "[sagemaker] ".
#
# Restart-safe without a second source of truth: the log file itself says how many lines of
# each container were already copied (tagged lines since this generation's start offset), so
# a collector killed at any moment (kill -9 included) restarts with no line lost or repeated:
# it drops a line cut short, then skips that many lines of `docker logs` (the whole log,
# replayed from the container's start). Container logs must not be rotated (DRfC's default).
#
# Usage: collect.sh LOG STATE_DIR GENERATION RUN_ID DOCKER_STYLE [POLL] [START_TIMEOUT]
#   GENERATION: 1 for a new training, +1 for each resume (new containers, same log file);
#   POLL: seconds between container look-ups; START_TIMEOUT: seconds to wait for robomaker.
# It ends, writing STATE_DIR/gen-N/done, once the training's containers are gone.
set -u
LOG=$1
STATE=$2/gen-$3
RUN_ID=$4
STYLE=${5:-compose}
POLL=${6:-2}
START_TIMEOUT=${7:-1800}

mkdir -p "$STATE"
# one collector per generation, even if a start was retried over a flaky connection; the
# lock is held (fd 9 is inherited) until every `docker logs` pipe of this collector is gone
exec 9>>"$STATE/lock"
flock -n 9 || { echo "a collector already runs for $STATE"; exit 0; }
echo "$$ $(ps -o pgid= -p $$ | tr -d ' ')" > "$STATE/pid.tmp" && mv "$STATE/pid.tmp" "$STATE/pid"
touch "$LOG"

# a line cut short by a kill: drop it, it is copied again in full below
if [ -s "$LOG" ] && [ "$(tail -c 1 "$LOG" | wc -l)" -eq 0 ]; then
  size=$(wc -c < "$LOG")
  partial=$(tail -n 1 "$LOG" | wc -c)
  truncate -s $((size - partial)) "$LOG"
fi

# where this generation's lines begin (fixed on its first start)
if [ ! -s "$STATE/start" ]; then
  wc -c < "$LOG" | tr -d ' ' > "$STATE/start.tmp" && mv "$STATE/start.tmp" "$STATE/start"
fi
START=$(cat "$STATE/start")

copied() {  # lines of source $1 already in the log for this generation
  tail -c +$((START + 1)) "$LOG" | grep -c "^\[$1\] "
}

put() {  # atomic small state file
  printf '%s\n' "$2" > "$STATE/$1.tmp" && mv "$STATE/$1.tmp" "$STATE/$1"
}

find_robomaker() {
  local name="deepracer-${RUN_ID}-robomaker-1"
  if [ "$STYLE" = swarm ]; then name="deepracer-${RUN_ID}_robomaker.1."; fi
  docker ps --filter "name=$name" --format '{{.ID}}' 2>/dev/null | head -n 1
}

find_sagemaker() {  # SageMaker local mode's "<job>-algo-1-<x>" container, started after robomaker
  [ -n "$1" ] || return 0
  docker ps --filter "name=-algo-1-" --filter "since=$1" --format '{{.ID}}' 2>/dev/null | head -n 1
}

follow() {  # source container-id
  local src=$1 id=$2 skip
  if [ "$(cat "$STATE/$src.id" 2>/dev/null)" != "$id" ]; then
    # a new container for this source: its log starts from line 1
    put "$src.base" "$(copied "$src")"
    put "$src.id" "$id"
  fi
  skip=$(( $(copied "$src") - $(cat "$STATE/$src.base") ))
  # sed -u: each line is written as it comes, in one write up to 8 KiB (two followers share
  # the file, appending);
  # no `$` address, which would make sed hold a line back until the next one arrives
  local drop=""
  if [ "$skip" -gt 0 ]; then drop="1,${skip}d; "; fi
  docker logs -f "$id" 2>&1 | sed -u "${drop}s/^/[$src] /" >> "$LOG"
}

alive() { [ -n "$1" ] && kill -0 "$1" 2>/dev/null; }

robo_pid="" sage_pid=""
robo_id=$(cat "$STATE/robomaker.id" 2>/dev/null)  # a restarted collector: seen before
seen=$robo_id
while :; do
  if ! alive "$robo_pid"; then
    id=$(find_robomaker)
    if [ -n "$id" ]; then
      robo_id=$id seen=1
      follow robomaker "$id" &
      robo_pid=$!
    fi
  fi
  if ! alive "$sage_pid"; then
    id=$(find_sagemaker "$robo_id")
    if [ -n "$id" ]; then
      follow sagemaker "$id" &
      sage_pid=$!
    fi
  fi
  if [ -n "$seen" ] && ! alive "$robo_pid" && ! alive "$sage_pid" \
     && [ -z "$(find_robomaker)" ] && [ -z "$(find_sagemaker "$robo_id")" ]; then
    break  # the training's containers are gone and their logs are copied
  fi
  if [ -z "$seen" ] && [ "$SECONDS" -ge "$START_TIMEOUT" ]; then
    echo "[drtui] no robomaker container deepracer-${RUN_ID} after ${START_TIMEOUT}s" >> "$LOG"
    break
  fi
  sleep "$POLL"
done
wait
touch "$STATE/done"
