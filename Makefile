# GigaLedger: `make demo` and `make test` do all the set-up on a fresh Debian machine with Swift.
SWIFT ?= swift
# What the build and the tests need from Debian: libsodium and SQLite to build against, pkg-config to
# find them, sqlite3, xxd, minisign and hledger for the tests that check our formats with standard tools,
# GNU time for the benchmark's peak-memory figure, and faketime for the tests of a wrong system clock.
APT_PACKAGES = libsodium-dev libsqlite3-dev pkg-config sqlite3 xxd minisign hledger time faketime
DEMO_DIR ?= demo

.PHONY: all deps build release test demo schema clean crash fuzz bench

all: build

deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  sudo=""; [ "$$(id -u)" = 0 ] || sudo=sudo; \
	  $$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq --no-install-recommends $$missing; \
	fi
	@# The independent verifier (schema/tools/verify_ledger.py) checks Ed25519 with the cryptography package.
	@python3 -c 'import cryptography' 2>/dev/null || python3 -m pip install -q cryptography

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release

# The tests run the real binary, so build it first.
test: deps
	$(SWIFT) build
	$(SWIFT) test

# 100 SIGKILLs at random moments of `gigaledger import` (make test runs 12).
crash: deps
	$(SWIFT) build
	GIGALEDGER_CRASH_KILLS=100 $(SWIFT) test --filter killedImportsLeaveNoneOrAllRows

# A longer pass of the parser fuzzer (make test runs a short one).
fuzz: deps
	$(SWIFT) build
	GIGALEDGER_FUZZ_ITERATIONS=200000 $(SWIFT) test --filter FuzzTests

# Benchmarks against the raw limits measured in the same run; writes BENCHMARKS.md.
bench: release
	$$($(SWIFT) build -c release --show-bin-path)/gigaledger-bench $$($(SWIFT) build -c release --show-bin-path)/gigaledger BENCHMARKS.md

demo: release
	DEMO_DIR=$(DEMO_DIR) GIGALEDGER=$$($(SWIFT) build -c release --show-bin-path)/gigaledger ./scripts/demo.sh

# Regenerates the Swift copy of schema/migrations/*.sql after a schema change.
schema:
	./scripts/embed-schema.sh

clean:
	rm -rf .build $(DEMO_DIR)
