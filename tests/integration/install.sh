#!/usr/bin/env bash
# tests/integration/install.sh - `cmake --install` yields a usable library:
# headers, shared and static library, the CLI, the SQL migrations, a
# pkg-config file and a CMake package that a separate project can consume.
set -euo pipefail
: "${CB_BUILD_DIR:?}" "${CB_SOURCE_DIR:?}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix

cmake --install "$CB_BUILD_DIR" --prefix "$prefix" >/dev/null
libdir=$(ls -d "$prefix"/lib*/ | head -n 1)
libdir=${libdir%/}
for f in include/chargeback/chargeback.h include/chargeback/errors.h \
	bin/chargeback; do
	[ -e "$prefix/$f" ] || { echo "install.sh: missing $f"; exit 1; }
done
for f in libchargeback.so libchargeback.a pkgconfig/chargeback.pc \
	cmake/chargeback/chargebackConfig.cmake; do
	[ -e "$libdir/$f" ] || { echo "install.sh: missing lib/$f"; exit 1; }
done
if ls "$CB_SOURCE_DIR"/sql/migrations/*.sql >/dev/null 2>&1; then
	n_src=$(ls "$CB_SOURCE_DIR"/sql/migrations/*.sql | wc -l)
	n_inst=$(ls "$prefix"/share/chargeback/migrations/*.sql | wc -l)
	[ "$n_src" -eq "$n_inst" ] || { echo "install.sh: migrations not installed"; exit 1; }
fi

# A consumer through pkg-config.
export PKG_CONFIG_PATH=$libdir/pkgconfig
# shellcheck disable=SC2046,SC2086
cc ${CB_C_FLAGS:-} -std=c11 -Wall -Werror \
	"$CB_SOURCE_DIR/examples/library_version.c" -o "$tmp/pc-example" \
	$(pkg-config --cflags --libs chargeback)
out=$(LD_LIBRARY_PATH=$libdir "$tmp/pc-example")
want="libchargeback $(pkg-config --modversion chargeback)
EINVAL: unknown log level 'loud' (error, warn, info, debug, trace)"
[ "$out" = "$want" ] || { printf 'install.sh: got\n%s\nwant\n%s\n' "$out" "$want"; exit 1; }

# A consumer through find_package(chargeback).
mkdir -p "$tmp/consumer"
cp "$CB_SOURCE_DIR/examples/library_version.c" "$tmp/consumer/"
cat >"$tmp/consumer/CMakeLists.txt" <<'CMAKE'
cmake_minimum_required(VERSION 3.25)
project(consumer C)
find_package(chargeback REQUIRED)
add_executable(consumer library_version.c)
target_link_libraries(consumer PRIVATE chargeback::chargeback)
CMAKE
cmake -S "$tmp/consumer" -B "$tmp/consumer/build" \
	-DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_C_FLAGS="${CB_C_FLAGS:-}" \
	-DCMAKE_EXE_LINKER_FLAGS="${CB_C_FLAGS:-}" >/dev/null
cmake --build "$tmp/consumer/build" >/dev/null
out=$(LD_LIBRARY_PATH=$libdir "$tmp/consumer/build/consumer")
[ "$out" = "$want" ] || { echo "install.sh: cmake consumer printed: $out"; exit 1; }
echo "install.sh: installed tree builds and runs consumers (pkg-config, cmake)"
