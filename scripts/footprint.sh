#!/usr/bin/env bash
# Footprint of the sans-I/O core on Cortex-M4: cross-compiles every non-fuzz
# source of src/core/ and prints .text/.data/.bss per object and in total, the
# "minimal client" subset, and a --gc-sections link of a tiny client that uses
# the handshake, the frame decoder and the session. Fails if the core has any
# .data or .bss (all state lives in caller structs); the 10 KiB text target is
# reported, not enforced. Berkeley "text" counts code plus read-only data.
set -euo pipefail
cd "$(dirname "$0")/.."
cc=arm-none-eabi-gcc
flags=(-std=c11 -Os -mcpu=cortex-m4 -mthumb -ffunction-sections -fdata-sections
       -Wall -Wextra -Werror -Iinclude -Isrc)
minimal=(handshake frame session utf8 sha1 base64)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

objs=()
for src in src/core/*.c; do
  case $src in *_fuzz.c) continue ;; esac
  obj=$tmp/$(basename "$src" .c).o
  "$cc" "${flags[@]}" -c "$src" -o "$obj"
  objs+=("$obj")
done

# Berkeley format: text data bss dec hex filename; sums the named objects.
sizes() { arm-none-eabi-size -B "$@" | awk 'NR > 1 { t += $1; d += $2; b += $3 } END { print t, d, b }'; }

printf '%-16s %7s %6s %6s\n' object text data bss
for obj in "${objs[@]}"; do
  read -r t d b <<<"$(sizes "$obj")"
  printf '%-16s %7d %6d %6d\n' "$(basename "$obj")" "$t" "$d" "$b"
done
read -r text data bss <<<"$(sizes "${objs[@]}")"
printf '%-16s %7d %6d %6d\n' total "$text" "$data" "$bss"

mobjs=()
for m in "${minimal[@]}"; do mobjs+=("$tmp/$m.o"); done
read -r t d b <<<"$(sizes "${mobjs[@]}")"
echo "minimal client objects (${minimal[*]}): text $t B, data $d B, bss $b B"

# What an embedded client really links: only the functions reached from a main
# that writes the request, parses the 101, decodes a frame and runs a session,
# plus the newlib-nano mem*/str* it calls (no startup code, no syscalls).
cat >"$tmp/client.c" <<'EOF'
#include "wsc/wsc_core.h"
static int rnd(void *u, uint8_t *b, size_t n) { (void)u; while (n) b[--n] = 7; return 0; }
int main(void)
{
    /* On the stack, so that .data/.bss of the link are the libraries' own. */
    struct wsc_request_info req = {.host = "example.com", .port = 80};
    struct wsc_handshake hs;
    struct wsc_header hdr[16];
    char head[512], out[512];
    uint8_t nonce[WSC_HANDSHAKE_NONCE_LEN] = {0}, in[64] = {0}, obuf[WSC_SESSION_OUT_MIN];
    struct wsc_frame_decoder dec = {0};
    struct wsc_frame_event fev;
    struct wsc_session s;
    struct wsc_event ev;
    size_t n = 0, used = 0;
    const uint8_t *p;
    wsc_handshake_init(&hs, &req, head, sizeof head, hdr, 16);
    wsc_handshake_write_request(&hs, nonce, out, sizeof out, &n);
    wsc_handshake_parse(&hs, in, sizeof in, &used);
    wsc_frame_decode(&dec, in, sizeof in, &used, &fev);
    struct wsc_session_config cfg = {.out_buf = obuf, .out_cap = sizeof obuf, .random = rnd};
    wsc_session_init(&s, &cfg);
    wsc_session_next(&s, in, sizeof in, &used, &ev);
    wsc_session_frame_begin(&s, WSC_OP_TEXT, true, 2);
    wsc_session_write(&s, "hi", 2, &used);
    wsc_session_output_sent(&s, wsc_session_pending_output(&s, &p));
    return 0;
}
EOF
"$cc" "${flags[@]}" --specs=nano.specs -nostartfiles -Wl,-e,main -Wl,--gc-sections \
  -Wl,-Map,"$tmp/client.map" "$tmp/client.c" "${objs[@]}" -o "$tmp/client.elf"
read -r t d b <<<"$(sizes "$tmp/client.elf")"
# The core's share: .text/.rodata input sections from its objects in the link map
# (a long section name puts its address, size and file on the next line).
core=$(awk -v dir="$tmp/" '
  function hex(s,  i, n) { s = tolower(substr(s, 3)); for (i = 1; i <= length(s); i++)
                            n = n * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1; return n }
  /^Linker script and memory map/ { map = 1 }
  map && /^ \.(text|rodata)/ { if (NF == 1) { split_line = 1; next } sz = $3; f = $4 }
  map && split_line && /^  +0x/ { split_line = 0; sz = $2; f = $3 }
  sz != "" { if (index(f, dir) == 1) n += hex(sz); sz = "" }
  END { print n + 0 }' "$tmp/client.map")
echo "minimal client linked (--gc-sections): text $t B ($core core, $((t - core)) main + newlib-nano), data $d B, bss $b B"

if [ "$text" -le 10240 ]; then
  echo "target 10240: met"
else
  echo "target 10240: over by $((text - 10240))"
fi
echo "core (Cortex-M4, -Os): text $text B, data $data B, bss $bss B"
if [ "$data" -ne 0 ] || [ "$bss" -ne 0 ]; then
  echo "footprint: the core must keep no state of its own (.data/.bss must be 0)" >&2
  exit 1
fi
