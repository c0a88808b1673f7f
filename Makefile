# A thin convenience over meson.  The README's two commands are `make demo` and `make check`.
BUILD ?= build
MESON_SETUP_FLAGS ?=
.PHONY: all deps build demo check bench fuzz install clean

all: build

deps:
	@./tools/install-deps

$(BUILD)/build.ninja:
	meson setup $(BUILD) $(MESON_SETUP_FLAGS)

build: deps $(BUILD)/build.ninja
	meson compile -C $(BUILD)

demo: build
	./tools/demo $(BUILD)

check: build
	meson test -C $(BUILD) --print-errorlogs --num-processes 2 --suite chatd

bench: build
	meson test -C $(BUILD) --benchmark --print-errorlogs --suite bench -v

fuzz: deps
	./tools/fuzz $(FUZZ_SECONDS)

install: build
	meson install -C $(BUILD)

clean:
	rm -rf $(BUILD)
