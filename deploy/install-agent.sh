#!/usr/bin/env bash
# Installs, upgrades or removes the monit agent on a systemd host: the
# binary made by `make build`, /etc/monit/agent.env and the systemd unit.
# It downloads nothing. Run with --help for the options.
set -euo pipefail

readonly SERVICE=monit-agent
readonly SERVICE_USER=monit-agent
readonly BIN_PATH=/usr/local/bin/monit-agent
readonly UNIT_PATH=/etc/systemd/system/monit-agent.service
readonly CONFIG_DIR=/etc/monit
readonly CONFIG_PATH=/etc/monit/agent.env
# What this script did that --uninstall has to undo, such as creating the user.
readonly RECORD_PATH=/etc/monit/agent.install-record
readonly DATA_DIR=/var/lib/monit-agent

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
readonly script_dir

usage() {
  cat <<EOF
usage: install-agent.sh --controller URL --token TOKEN [--name NAME] [--labels k=v,...]
                        [--binary PATH] [--root DIR]
       install-agent.sh --upgrade [--binary PATH] [--root DIR]
       install-agent.sh --uninstall [--keep-config] [--purge] [--root DIR]

Installs the monit agent as the systemd service $SERVICE:
  $BIN_PATH              the agent binary (make build writes dist/monit-agent)
  $CONFIG_PATH                controller URL, token and other settings (mode 0600)
  $UNIT_PATH   the unit, run as the user $SERVICE_USER
  $DATA_DIR                   unsent metrics (systemd's StateDirectory)

  --controller URL   controller URL, http(s):// or ws(s)://; several separated by commas
  --token TOKEN      agent token from "monit tokens create NAME" (the operator CLI); the
                     variable MONIT_AGENT_TOKEN also works and keeps it out of the process list
  --name NAME        agent name (default: the host name, read when the agent starts)
  --labels k=v,...   agent labels, such as region=eu-west
  --binary PATH      agent binary (default: monit-agent beside this script, else ../dist/monit-agent)
  --root DIR         install into DIR instead of /, for packaging and tests: creates
                     no user, runs no systemctl and prints what it skipped
  --upgrade          replace the binary and the unit; keep agent.env and the data
  --uninstall        stop the service and remove what this script installed
  --keep-config      with --uninstall: keep $CONFIG_PATH
  --purge            with --uninstall: also remove $DATA_DIR
  --help             print this text
EOF
}

fail() {
  echo "install-agent: $*" >&2
  exit 1
}

say() {
  echo "install-agent: $*"
}

# Parsed options.
action=install
controller=''
token=${MONIT_AGENT_TOKEN:-}
name=''
labels=''
binary=''
root=''
keep_config=false
purge=false

parse_args() {
  while [[ $# -gt 0 ]]; do
    case $1 in
      --controller | --token | --name | --labels | --binary | --root)
        [[ $# -ge 2 ]] || fail "$1 needs a value"
        set_option "$1" "$2"
        shift 2
        ;;
      --upgrade) set_action upgrade; shift ;;
      --uninstall) set_action uninstall; shift ;;
      --keep-config) keep_config=true; shift ;;
      --purge) purge=true; shift ;;
      --help | -h) usage; exit 0 ;;
      *) fail "unknown option $1; see --help" ;;
    esac
  done
}

set_option() {
  case $1 in
    --controller) controller=$2 ;;
    --token) token=$2 ;;
    --name) name=$2 ;;
    --labels) labels=$2 ;;
    --binary) binary=$2 ;;
    --root) root=$2 ;;
  esac
}

set_action() {
  [[ $action == install ]] || fail "give only one of --upgrade and --uninstall"
  action=$1
}

# Rejects characters that systemd's EnvironmentFile parser would treat as
# quoting, escapes or variable references, and line breaks.
check_plain() {
  local option=$1 value=$2
  if [[ $value == *[\"\'\\\$\`]* || $value == *[[:cntrl:]]* ]]; then
    fail "$option contains a quote, backslash, \$, backtick or control character; these are not supported"
  fi
}

check_options() {
  if [[ $action != uninstall ]] && { $keep_config || $purge; }; then
    fail "--keep-config and --purge go with --uninstall"
  fi
  if [[ $action != install ]]; then
    if [[ -n $controller || -n $name || -n $labels ]]; then
      fail "--controller, --name and --labels are for a new install; --$action keeps $CONFIG_PATH (edit it to change them)"
    fi
    return
  fi

  [[ -n $controller ]] || fail "--controller is missing; give the controller URL, such as https://monit.example.com"
  [[ -n $token ]] || fail "--token (or MONIT_AGENT_TOKEN) is missing; create one with: monit tokens create NAME"
  local url='(https?|wss?)://[^[:space:],]+'
  [[ $controller =~ ^$url(,$url)*$ ]] || fail "--controller \"$controller\" is not an http(s):// or ws(s):// URL"
  [[ $token =~ ^[[:graph:]]+$ ]] || fail "--token contains spaces or control characters"
  check_plain --controller "$controller"
  check_plain --token "$token"
  check_plain --name "$name"
  check_plain --labels "$labels"
  [[ ${#name} -le 128 ]] || fail "--name is longer than 128 characters"
  if [[ -n $labels ]] && [[ ! $labels =~ ^[A-Za-z0-9._/-]+=[^,]*(,[A-Za-z0-9._/-]+=[^,]*)*$ ]]; then
    fail "--labels \"$labels\" is not k=v,k=v (such as region=eu-west)"
  fi
}

# Sets `root` to an absolute folder, or to '' for this system.
resolve_root() {
  if [[ -z $root ]]; then
    [[ $(id -u) -eq 0 ]] || fail "run as root (sudo) to install into this system, or give --root DIR"
    return
  fi
  [[ -d $root ]] || fail "--root $root is not an existing folder"
  root=$(cd "$root" && pwd)
  [[ $root != / ]] || fail "--root / is this system; leave --root out to install here"
}

in_root() {
  [[ -n $root ]]
}

# Runs a command on this system, or prints it in --root mode.
run_or_skip() {
  if in_root; then
    say "skipped (--root): $*"
  else
    "$@"
  fi
}

find_binary() {
  if [[ -z $binary ]]; then
    local candidate
    for candidate in "$script_dir/monit-agent" "$script_dir/../dist/monit-agent"; do
      if [[ -f $candidate ]]; then
        binary=$candidate
        break
      fi
    done
    [[ -n $binary ]] || fail "no agent binary beside this script or in dist/; run make build, or give --binary PATH"
  fi
  [[ -f $binary && -x $binary ]] || fail "--binary $binary is not an executable file"
}

binary_version() {
  local output
  output=$("$1" --version 2>&1) || fail "$1 --version failed: $output"
  [[ $output == monit-agent\ * ]] || fail "$1 is not the monit agent (--version printed: $output)"
  echo "$output"
}

check_media_tools() {
  local missing=()
  command -v ffprobe >/dev/null || missing+=(ffprobe)
  command -v ffmpeg >/dev/null || missing+=(ffmpeg)
  [[ ${#missing[@]} -eq 0 ]] && return

  {
    echo "install-agent: ${missing[*]} not found; the agent probes streams with ffprobe and ffmpeg."
    echo "Install them with the distribution's package, then run this again:"
    echo "  Debian, Ubuntu:      apt-get install --no-install-recommends ffmpeg"
    echo "  Fedora, RHEL family: dnf install ffmpeg (from the RPM Fusion repository)"
  } >&2
  if in_root; then
    say "warning: continuing because --root installs for another system"
    return
  fi
  exit 1
}

ensure_user() {
  if id -u "$SERVICE_USER" >/dev/null 2>&1; then
    return
  fi
  if in_root; then
    say "skipped (--root): useradd --system --user-group --home-dir $DATA_DIR --no-create-home --shell /usr/sbin/nologin $SERVICE_USER"
    return
  fi
  useradd --system --user-group --home-dir "$DATA_DIR" --no-create-home --shell /usr/sbin/nologin "$SERVICE_USER"
  say "created the system user $SERVICE_USER"
  echo "created_user=yes" >>"$root$RECORD_PATH"
}

ensure_config_dir() {
  [[ -d $root$CONFIG_DIR ]] || install -d -m 0755 "$root$CONFIG_DIR"
}

# Writes the record header once; ensure_user appends to it.
start_record() {
  local record=$root$RECORD_PATH
  [[ -f $record ]] && return
  ensure_config_dir
  {
    echo "# Written by deploy/install-agent.sh; read by --uninstall. Do not edit."
    echo "installed_at=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  } >"$record"
  chmod 0644 "$record"
}

# Copies source to dest with mode through a temporary file in the same folder,
# so that a running binary is replaced, never overwritten in place.
install_file() {
  local mode=$1 source=$2 dest=$3
  mkdir -p "$(dirname "$dest")"
  install -m "$mode" "$source" "$dest.new"
  mv -f "$dest.new" "$dest"
}

render_config() {
  awk -v controller="$controller" -v token="$token" -v name="$name" -v labels="$labels" '
    function put(key, value) {
      if (value == "") print "# " key "="
      else print key "=" value
    }
    /^MONIT_CONTROLLER=/ { put("MONIT_CONTROLLER", controller); next }
    /^MONIT_AGENT_TOKEN=/ { put("MONIT_AGENT_TOKEN", token); next }
    /^MONIT_AGENT_NAME=/ { put("MONIT_AGENT_NAME", name); next }
    /^MONIT_AGENT_LABELS=/ { put("MONIT_AGENT_LABELS", labels); next }
    { print }
  ' "$script_dir/agent.env.example"
}

write_config() {
  local dest=$root$CONFIG_PATH
  [[ -f $script_dir/agent.env.example ]] || fail "$script_dir/agent.env.example is missing; it is the template of $CONFIG_PATH"
  ensure_config_dir
  (
    umask 077
    render_config >"$dest.new"
  )
  local key
  for key in MONIT_CONTROLLER MONIT_AGENT_TOKEN; do
    grep -q "^$key=" "$dest.new" || fail "agent.env.example has no $key= line"
  done
  chmod 0600 "$dest.new"
  mv -f "$dest.new" "$dest"
  run_or_skip chown "$SERVICE_USER:$SERVICE_USER" "$dest"
}

install_agent() {
  [[ ! -e $root$CONFIG_PATH ]] \
    || fail "$root$CONFIG_PATH exists; use --upgrade to keep it, or --uninstall first"
  find_binary
  local version
  version=$(binary_version "$binary")
  check_media_tools
  start_record
  ensure_user
  install_file 0755 "$binary" "$root$BIN_PATH"
  install_file 0644 "$script_dir/$SERVICE.service" "$root$UNIT_PATH"
  write_config
  run_or_skip systemctl daemon-reload
  run_or_skip systemctl enable --now "$SERVICE.service"
  say "installed $version"
  print_next_steps
}

upgrade_agent() {
  [[ -f $root$CONFIG_PATH ]] || fail "$root$CONFIG_PATH not found; install first (with --controller and --token)"
  find_binary
  local old_version=unknown new_version
  new_version=$(binary_version "$binary")
  if [[ -x $root$BIN_PATH ]]; then
    old_version=$("$root$BIN_PATH" --version 2>/dev/null || echo unknown)
  fi
  check_media_tools
  start_record
  ensure_user
  install_file 0755 "$binary" "$root$BIN_PATH"
  install_file 0644 "$script_dir/$SERVICE.service" "$root$UNIT_PATH"
  run_or_skip systemctl daemon-reload
  run_or_skip systemctl try-restart "$SERVICE.service"
  say "upgraded from $old_version to $new_version; kept $CONFIG_PATH and $DATA_DIR"
}

uninstall_agent() {
  local created_user=no
  if [[ -f $root$RECORD_PATH ]] && grep -qx 'created_user=yes' "$root$RECORD_PATH"; then
    created_user=yes
  fi

  if in_root; then
    say "skipped (--root): systemctl disable --now $SERVICE.service"
  elif systemctl cat "$SERVICE.service" >/dev/null 2>&1; then
    systemctl disable --now "$SERVICE.service"
  fi
  remove "$root$UNIT_PATH"
  run_or_skip systemctl daemon-reload
  remove "$root$BIN_PATH"
  if $keep_config; then
    say "kept $root$CONFIG_PATH (--keep-config)"
  else
    remove "$root$CONFIG_PATH"
  fi
  remove "$root$RECORD_PATH"
  rmdir "$root$CONFIG_DIR" 2>/dev/null || true

  if [[ $created_user == yes ]]; then
    run_or_skip userdel "$SERVICE_USER"
  elif id -u "$SERVICE_USER" >/dev/null 2>&1; then
    say "kept the user $SERVICE_USER: it existed before this script installed the agent"
  fi

  if $purge; then
    rm -rf "$root$DATA_DIR"
    say "removed $root$DATA_DIR (--purge)"
  elif [[ -d $root$DATA_DIR ]]; then
    say "kept $root$DATA_DIR with unsent metrics; --purge removes it"
  fi
  say "uninstalled"
}

remove() {
  if [[ -e $1 ]]; then
    rm -f "$1"
    say "removed $1"
  fi
}

print_next_steps() {
  cat <<EOF

Settings: $root$CONFIG_PATH (mode 0600). Check the agent with:
  systemctl status $SERVICE
  journalctl -u $SERVICE -f
  curl http://127.0.0.1:9464/healthz
  curl http://127.0.0.1:9464/metrics
EOF
}

main() {
  parse_args "$@"
  check_options
  resolve_root
  case $action in
    install) install_agent ;;
    upgrade) upgrade_agent ;;
    uninstall) uninstall_agent ;;
  esac
}

main "$@"
