#!/bin/bash
# Alternating ingests of two trees into new databases, for a machine whose speed drifts
# between runs (docs/benchmarks-stories.md): each pair runs OTHER, then this tree.
#   scripts/ingest_pairs.sh OTHER_TREE CORPUS PAIRS sqlite|postgresql
# OTHER_TREE: e.g. `git archive 38feb8e | tar -x -C /tmp/base`. Prints, per run: pair,
# tree, the ingest's own seconds, wall s, user s, system s, peak RSS KB (largest process).
# PostgreSQL: 127.0.0.1:5432, user postgres; the databases pair_other and pair_this are
# dropped and made again. An ingest that rejects files exits 1; its run still counts.
set -euo pipefail
other=$1 corpus=$2 pairs=$3 backend=$4
here=$(cd "$(dirname "$0")/.." && pwd)
python=$here/.venv/bin/python
times=$(mktemp)
for i in $(seq 1 "$pairs"); do
  for tree in other this; do
    if [ "$tree" = other ]; then dir=$other; else dir=$here; fi
    if [ "$backend" = postgresql ]; then
      psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS pair_$tree" \
        -c "CREATE DATABASE pair_$tree" >/dev/null
      url=postgresql+psycopg://postgres@127.0.0.1/pair_$tree
    else
      rm -f "/tmp/pair_$tree.db"*
      url=sqlite:////tmp/pair_$tree.db
    fi
    seconds=$(cd "$dir" && DATABASE_URL=$url /usr/bin/time -f "%e %U %S %M" -o "$times" \
      "$python" scripts/ingest.py --json "$corpus" 2>/dev/null | tail -1 |
      grep -o '"seconds": [0-9.]*' | cut -d' ' -f2 || true)  # rejected files: exit 1
    echo "$i $tree $seconds $(cat "$times")"
  done
done
rm -f "$times"
