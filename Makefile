# A thin convenience over meson.  The README's two commands are `make demo` and `make check`.
BUILD ?= build
MESON_SETUP_FLAGS ?=
# the sanitizer build that `make check` runs second: clang with AddressSanitizer,
# UndefinedBehaviorSanitizer and LeakSanitizer (settings and suppressions:
# tests/meson.build, tests/lsan.supp); b_lundef=false because plugins take the
# sanitizer runtime from the executable that loads them
ASAN_BUILD ?= build-asan
ASAN_SETUP_FLAGS ?= -Db_sanitize=address,undefined -Db_lundef=false
.PHONY: all deps build build-asan demo check check-gcc check-asan bench fuzz install clean

all: build

deps:
	@./tools/install-deps

$(BUILD)/build.ninja:
	meson setup $(BUILD) $(MESON_SETUP_FLAGS)

build: deps $(BUILD)/build.ninja
	meson compile -C $(BUILD)

demo: build
	./tools/demo $(BUILD)

$(ASAN_BUILD)/build.ninja:
	CC=clang meson setup $(ASAN_BUILD) $(ASAN_SETUP_FLAGS)

build-asan: deps $(ASAN_BUILD)/build.ninja
	meson compile -C $(ASAN_BUILD)

# the gcc build first, then the same suite under the sanitizers
check:
	$(MAKE) check-gcc
	$(MAKE) check-asan

check-gcc: build
	meson test -C $(BUILD) --print-errorlogs --num-processes 2 --suite chatd

check-asan: build-asan
	meson test -C $(ASAN_BUILD) --print-errorlogs --num-processes 2 --suite chatd

bench: build
	meson test -C $(BUILD) --benchmark --print-errorlogs --suite bench -v

fuzz: deps
	./tools/fuzz $(FUZZ_SECONDS)

install: build
	meson install -C $(BUILD)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
