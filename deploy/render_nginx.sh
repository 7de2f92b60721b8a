#!/usr/bin/env bash
# Render deploy/nginx/hydronet.conf for a given layout and print it (or write -o FILE).
#
#   render_nginx.sh [--root DIR] [--listen ADDR]... [--upstream HOST:PORT]...
#                   [--server-name NAME] [--log-dir DIR] [--template FILE] [-o FILE]
#
# --root         project directory holding static/ (default /opt/hydronet)
# --listen       value of a `listen` directive, e.g. 80, 127.0.0.1:8080 (repeatable;
#                default: the template's `listen 80` and `listen [::]:80`)
# --upstream     one app server, e.g. 127.0.0.1:5000 (repeatable; default: the
#                template's 127.0.0.1:5000 and 127.0.0.1:5001)
# --server-name  server_name value (default `_`)
# --log-dir      directory for the site's access/error logs (default /var/log/nginx)
#
# Only the lines marked "# @listen", "# @server_name", the block between
# "# @upstreams-begin/-end", the "# @log" paths and /opt/hydronet outside
# comments are rewritten.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
template="$here/nginx/hydronet.conf"
root=""
server_name=""
log_dir=""
out=""
listens=()
upstreams=()

usage() { awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "${BASH_SOURCE[0]}"; }

while [ $# -gt 0 ]; do
    case "$1" in
        --root) root="${2:?--root needs a value}"; shift 2 ;;
        --listen) listens+=("${2:?--listen needs a value}"); shift 2 ;;
        --upstream) upstreams+=("${2:?--upstream needs a value}"); shift 2 ;;
        --server-name) server_name="${2:?--server-name needs a value}"; shift 2 ;;
        --log-dir) log_dir="${2:?--log-dir needs a value}"; shift 2 ;;
        --template) template="${2:?--template needs a value}"; shift 2 ;;
        -o|--output) out="${2:?-o needs a value}"; shift 2 ;;
        -h|--help) usage; exit 0 ;;
        *) echo "render_nginx.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
    esac
done

[ -r "$template" ] || { echo "render_nginx.sh: template not readable: $template" >&2; exit 2; }
root="${root%/}"
log_dir="${log_dir%/}"
for value in "$root" "$log_dir" "$server_name" "${listens[@]+"${listens[@]}"}" "${upstreams[@]+"${upstreams[@]}"}"; do
    case "$value" in
        *[\;\{\}\ \"\'\\\&]*|*$'\n'*) echo "render_nginx.sh: refusing unsafe value: $value" >&2; exit 2 ;;
    esac
done

join_nl() { local item; for item in "$@"; do printf '%s\n' "$item"; done; }

rendered="$(
    LISTENS="$(join_nl "${listens[@]+"${listens[@]}"}")" \
    UPSTREAMS="$(join_nl "${upstreams[@]+"${upstreams[@]}"}")" \
    SERVER_NAME="$server_name" ROOT="$root" LOG_DIR="$log_dir" \
    awk '
        BEGIN {
            n_listen = split(ENVIRON["LISTENS"], listen, "\n")
            n_up = split(ENVIRON["UPSTREAMS"], up, "\n")
        }
        /# @upstreams-begin/ {
            print
            if (n_up > 0) {
                for (i = 1; i <= n_up; i++)
                    printf "    server %s max_fails=3 fail_timeout=10s;\n", up[i]
                skipping = 1
            }
            next
        }
        /# @upstreams-end/ { skipping = 0; print; next }
        skipping { next }
        /# @listen$/ {
            if (n_listen == 0) { print; next }
            if (!listen_done) {
                for (i = 1; i <= n_listen; i++)
                    printf "    listen %s; # @listen\n", listen[i]
                listen_done = 1
            }
            next
        }
        /# @server_name$/ && ENVIRON["SERVER_NAME"] != "" {
            printf "    server_name %s; # @server_name\n", ENVIRON["SERVER_NAME"]
            next
        }
        /# @log$/ && ENVIRON["LOG_DIR"] != "" { sub("/var/log/nginx", ENVIRON["LOG_DIR"]) }
        /^[ \t]*#/ { print; next }
        {
            if (ENVIRON["ROOT"] != "") gsub("/opt/hydronet", ENVIRON["ROOT"])
            print
        }
    ' "$template"
)"

if [ -n "$out" ]; then
    tmp="$(mktemp "${out}.XXXXXX")"
    printf '%s\n' "$rendered" >"$tmp"
    chmod 0644 "$tmp"
    mv -f "$tmp" "$out"
else
    printf '%s\n' "$rendered"
fi
