# Shared by the bench scripts: `run NAME CMD...` times a shell command with
# /usr/bin/time and keeps, per name over the rounds, the best wall seconds,
# the client CPU seconds (user + sys of every process the command started)
# of that best run, and the highest peak RSS. `ratio A B` divides best
# times. Needs WORK (a scratch directory) set.

declare -A SECS CPU RSS

run() {
  local name=$1; shift
  sync
  /usr/bin/time -f "%e %U %S %M" -o "$WORK/time" bash -c "$*" >"$WORK/out" 2>"$WORK/err" || {
    echo "$name failed:"; tail -20 "$WORK/err" "$WORK/out"; exit 1; }
  local s u k r
  read -r s u k r <"$WORK/time"
  local c
  c=$(awk -v u="$u" -v k="$k" 'BEGIN { printf "%.2f", u + k }')
  if [ -z "${SECS[$name]:-}" ] || awk -v a="$s" -v b="${SECS[$name]}" 'BEGIN { exit !(a < b) }'; then
    SECS[$name]=$s
    CPU[$name]=$c
  fi
  if [ -z "${RSS[$name]:-}" ] || [ "$r" -gt "${RSS[$name]}" ]; then RSS[$name]=$r; fi
  printf "   %-34s %8.2f s  %7.2f s CPU  %8d KiB peak RSS\n" "$name" "$s" "$c" "$r"
}

ratio() { awk -v a="${SECS[$1]}" -v b="${SECS[$2]}" 'BEGIN { printf "%.2f", a / b }'; }

# table: the best run of every name, for docs/performance.md.
table() {
  echo "== best runs"
  printf "   | %-34s | %8s | %8s | %9s |\n" tool "wall s" "CPU s" "RSS MiB"
  for name in "$@"; do
    printf "   | %-34s | %8.2f | %8.2f | %9d |\n" "$name" "${SECS[$name]}" "${CPU[$name]}" "$(( ${RSS[$name]} / 1024 ))"
  done
}
