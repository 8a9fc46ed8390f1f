#!/usr/bin/env bash
# Layout check (issue 10, "Done when"): nothing under src/ or test/ depends on
# TypeORM's internal aliases (p_<column>), the driver's internals
# (driver.master) or cache-busted imports (?app=); and no file under src/
# passes 250 lines without a first line that says why ("// Past 250 lines: ...").
set -uo pipefail
cd "$(dirname "$0")/.."
status=0
hits=$(grep -rn 'p_\|driver\.master\|?app=' src test || true)
if [ -n "$hits" ]; then
  echo "internal aliases, driver internals or cache-busted imports:"
  echo "$hits"
  status=1
fi
while IFS= read -r file; do
  lines=$(wc -l < "$file")
  if [ "$lines" -gt 250 ] && ! head -n1 "$file" | grep -q '^// Past 250 lines: '; then
    echo "$file: $lines lines and no '// Past 250 lines: <why>' first line"
    status=1
  fi
done < <(find src -type f -name '*.ts' | sort)
[ "$status" -eq 0 ] && echo "layout: no internal aliases, driver internals or cache-busted imports; every src/ file past 250 lines says why"
exit "$status"
