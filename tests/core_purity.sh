#!/usr/bin/env bash
# The core must stay portable to an RTOS: only the C headers STYLE.md allows, and
# no sockets, clocks, randomness, heap or printing. Usage: core_purity.sh SOURCE-DIR
set -u
cd "$1/src/core" || exit 2
bad=0
for f in *.c *.h; do
  case $f in *_fuzz.c | fuzz_*.h) continue ;; esac # fuzz harnesses are tools
  while IFS= read -r inc; do
    case $inc in
      '<stdint.h>' | '<stddef.h>' | '<stdbool.h>' | '<string.h>' | '"core/wsc_internal.h"' | '"wsc/wsc_core.h"') ;;
      # SIMD intrinsics come with the compiler, not the OS (utf8.c, under #if __SSE2__ etc.).
      '<emmintrin.h>' | '<tmmintrin.h>' | '<immintrin.h>' | '<arm_neon.h>') ;;
      *) echo "$f: includes $inc"; bad=1 ;;
    esac
  done < <(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*\([<"][^>"]*[>"]\).*/\1/p' "$f")
  if grep -nE '\b(malloc|calloc|realloc|free|socket|recv|send|read|write|time|clock|rand|getrandom|printf|fprintf|puts|abort|exit)[[:space:]]*\(' "$f" \
      | grep -vE '^\s*[0-9]+:\s*(/\*|\*)'; then
    echo "$f: calls something the core must not"
    bad=1
  fi
done
[ $bad -eq 0 ] && echo "core purity: ok"
exit $bad
