# Shared helpers for the project's scripts; source it, do not run it.

repo_root() { cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd; }

# state_dir NAME prints a folder for NAME's data: under .local/ in the repository when the
# unprivileged postgres user can reach it (needed when running as root), else under /tmp.
state_dir() {
  local name=$1 root dir
  root=${SETORA_STATE_DIR:-$(repo_root)/.local}
  dir="$root/$name"
  mkdir -p "$dir"
  if [ "$(id -u)" -eq 0 ] && id postgres >/dev/null 2>&1 && ! runuser -u postgres -- test -x "$root"; then
    dir="/tmp/setora-$(printf '%s' "$root" | cksum | cut -d' ' -f1)/$name"
    mkdir -p "$dir"
    chmod 755 "$(dirname "$dir")"
  fi
  echo "$dir"
}

# wait_ready URL [SECONDS] polls URL until it answers 200.
wait_ready() {
  local url=$1 deadline=$((SECONDS + ${2:-30}))
  until curl -fsS -o /dev/null "$url" 2>/dev/null; do
    if [ $SECONDS -ge $deadline ]; then
      echo "timed out waiting for $url" >&2
      return 1
    fi
    sleep 0.2
  done
}

# keep_earlier_logs DIR moves the *.log files that an earlier run wrote at the top of DIR into
# DIR/<start>/, so the next run starts fresh files without losing them. <start> is when that run
# began, taken from the time of its first log, migrate.log. Prints the folder, if any.
keep_earlier_logs() {
  local dir=$1 first stamp target
  local logs=("$dir"/*.log)
  [ -e "${logs[0]}" ] || return 0
  first=$dir/migrate.log
  [ -e "$first" ] || first=${logs[0]}
  stamp=$(date -r "$first" +%Y-%m-%dT%H-%M-%S 2>/dev/null || date +%Y-%m-%dT%H-%M-%S)
  target=$dir/$stamp
  # Two runs within one second would share a folder name.
  if [ -e "$target" ]; then target=$target-$$; fi
  mkdir -p "$target"
  mv "${logs[@]}" "$target/"
  echo "$target"
}

# reader_url URL prints URL with the user replaced by the read-only role setora_reader.
reader_url() {
  echo "$1" | sed -E 's#^(postgres(ql)?://)([^@/]*@)?#\1setora_reader@#'
}
