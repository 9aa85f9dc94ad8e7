# Helpers shared by the VM benchmarks (bench/boot.sh, bench/agent.sh). Source it (not a
# benchmark itself: bench/run runs bench/*.sh).
: "${CZ_SRC:=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
: "${CZ_BUILD:=$CZ_SRC/build}"

# median VALUE...: the median (mean of the middle two for an even count).
median() {
    printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END{print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'
}

# field KEY TEXT: the value of the "KEY value" line in TEXT (the bench tools' output).
field() { echo "$2" | awk -v k="$1" '$1==k{print $2}'; }

# ratio A B [DIGITS]: A/B.
ratio() { echo "$1 $2" | awk -v d="${3:-2}" '{printf "%.*f", d, $1/$2}'; }

# update_results HEADING TABLE: replace the "## HEADING" section of bench/RESULTS.md with
# TABLE (which starts with that heading), or append it; other sections stay as they are.
update_results() {
    /usr/bin/python3 - "$CZ_SRC/bench/RESULTS.md" "$1" "$2" <<'PY'
import os, re, sys
path, heading, table = sys.argv[1:4]
text = open(path).read() if os.path.exists(path) else "# Benchmark results\n"
pat = re.compile(r"^## " + re.escape(heading) + r"\n.*?(?=^## |\Z)", re.S | re.M)
if pat.search(text):
    text = pat.sub(lambda m: table.strip() + "\n\n", text)
else:
    text = text.rstrip() + "\n\n" + table.strip() + "\n"
with open(path + ".tmp", "w") as f:
    f.write(text.rstrip() + "\n")
os.replace(path + ".tmp", path)
PY
}

# verdict VALUE OP LIMIT: "met" or "NOT met" (OP: le, lt, ge).
verdict() {
    awk -v v="$1" -v op="$2" -v l="$3" 'BEGIN{ok = (op=="le") ? v<=l : (op=="lt") ? v<l : v>=l;
        print ok ? "met" : "NOT met"}'
}
