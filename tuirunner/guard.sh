# The guard's shell part (see guard.py): started by the front end, a child subreaper, as
#   sh guard.sh PYTHON GUARD.PY TIMEOUT STOP_FILE -- KEEPER ARGV...
# It starts the keeper, passes a SIGTERM, SIGINT or SIGHUP on to it as SIGTERM, and once it has
# ended becomes Python (guard.py), which stops what the keeper left. "$@" is the keeper's
# command line; the keeper learns the guard's pid (for its PR_SET_PDEATHSIG). The shell's copies
# of the pipes the keeper inherited stay open while the keeper lives (they are the keeper's
# then), and close when Python starts. (`command kill`: not a function the environment brought.)
python=$1 guard=$2 timeout=$3 noted=$4
shift 5
"$@" --guard-pid $$ &
keeper=$!
trap 'command kill -TERM "$keeper" 2>/dev/null' TERM INT HUP
while :; do
    wait "$keeper"
    status=$?
    command kill -0 "$keeper" 2>/dev/null || break  # not a signal that woke the wait: the keeper ended
done
trap '' TERM INT HUP  # Python's part stops what is left: nothing interrupts it (an exec keeps this)
exec "$python" -S -E "$guard" "$timeout" "$noted" "$status"
