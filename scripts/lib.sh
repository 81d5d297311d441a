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

# reader_url URL prints URL with the user replaced by the read-only role setora_reader.
reader_url() {
  echo "$1" | sed -E 's#^(postgres(ql)?://)([^@/]*@)?#\1setora_reader@#'
}
