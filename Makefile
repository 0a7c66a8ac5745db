# GigaLedger: `make demo` and `make test` do all the set-up on a fresh Debian machine with Swift.
SWIFT ?= swift
# What the build needs from Debian: libsodium and SQLite to build against, and pkg-config to find
# them; p11-kit's PKCS#11 header (keys on tokens: the module is loaded at run time, not linked). The demo also runs sqlite3 and minisign (it checks the report's signature and the copy's
# entries with standard tools): `make demo` installs only these.
BUILD_PACKAGES = libsodium-dev libsqlite3-dev pkg-config libp11-kit-dev
DEMO_PACKAGES = $(BUILD_PACKAGES) sqlite3 minisign
# What the tests need besides: xxd, minisign and hledger for the tests that check our formats with
# standard tools, GNU time for the benchmark's peak-memory figure, faketime for the tests of a wrong
# system clock, openssl for the test certificate of the HTTPS server, nginx to serve a publication's
# static files, chromium with chromium-driver to read the public page in a real browser (with
# Selenium and axe-selenium-python, from PyPI), PostgreSQL's server and client, which the tests of
# the PostgreSQL store start on their own (issue 16), and systemd's systemd-analyze, which checks the
# service units in deploy/systemd, and SoftHSM2, the token the tests of keys in hardware initialise
# (issue 37), with OpenSC's pkcs11-tool to make a key of another type on it and p11-kit's proxy
# module, the module used when none is named (it loads SoftHSM2's, which registers itself).
APT_PACKAGES = $(DEMO_PACKAGES) xxd hledger time faketime openssl nginx chromium chromium-driver postgresql postgresql-client systemd softhsm2 opensc p11-kit-modules
DEMO_DIR ?= demo
# Where `make install` puts the binary, its manual page and shell completions.
PREFIX ?= /usr/local
# A separate build folder for the binary with the Swift runtime linked in, so it does not rebuild the others.
STATIC_BUILD = .build/static

.PHONY: all deps build-deps demo-deps build release static install install-check test stress lint demo schema clean crash fuzz bench

all: build

# Installs the Debian packages named by PACKAGES that are missing (apt-get; sudo when not root).
define install_packages
	@missing=""; for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  sudo=""; [ "$$(id -u)" = 0 ] || sudo=sudo; \
	  $$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq --no-install-recommends $$missing; \
	fi
endef

# What a build needs, and what the demo needs: nothing more (no browser, no web server, no database).
build-deps:
	$(call install_packages,$(BUILD_PACKAGES))

demo-deps:
	$(call install_packages,$(DEMO_PACKAGES))

deps:
	$(call install_packages,$(APT_PACKAGES))
	@# The independent verifier (schema/tools/verify_ledger.py) checks Ed25519 with the cryptography package.
	@python3 -c 'import cryptography' 2>/dev/null || python3 -m pip install -q cryptography
	@# The public page's browser test (scripts/browse-public-page.py) drives chromium with Selenium.
	@python3 -c 'import selenium' 2>/dev/null || python3 -m pip install -q selenium
	@# ... and checks its accessibility with axe-core, which axe-selenium-python carries.
	@python3 -c 'import axe_selenium_python' 2>/dev/null || python3 -m pip install -q axe-selenium-python

build: build-deps
	$(SWIFT) build

release: build-deps
	$(SWIFT) build -c release

# A binary that runs where Swift is not installed: the Swift runtime and Foundation linked in;
# it needs only Debian's libsodium23 and the C library (`ldd` lists nothing of Swift's).
static: build-deps
	$(SWIFT) build -c release --static-swift-stdlib --scratch-path $(STATIC_BUILD) --product gigaledger

# The static binary, its manual page (argument-parser's generate-manual plugin) and bash, zsh and
# fish completions, under PREFIX. The plugin links its own, dynamic, copy of the binary into the same
# folder, so the manual page comes first and the static binary is relinked after it.
STATIC_BIN = $(STATIC_BUILD)/release/gigaledger
install: build-deps
	mkdir -p $(STATIC_BUILD)/man
	$(SWIFT) package --scratch-path $(STATIC_BUILD) plugin --allow-writing-to-package-directory generate-manual \
	  --output-directory $(STATIC_BUILD)/man --authors "the GigaLedger developers" >/dev/null
	rm -f $(STATIC_BIN) $(STATIC_BUILD)/x86_64-unknown-linux-gnu/release/gigaledger
	$(MAKE) static
	@if ldd $(STATIC_BIN) | grep -q libswift; then echo "$(STATIC_BIN) links the Swift runtime dynamically" >&2; exit 1; fi
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1 \
	  $(DESTDIR)$(PREFIX)/share/bash-completion/completions $(DESTDIR)$(PREFIX)/share/zsh/site-functions \
	  $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d $(DESTDIR)$(PREFIX)/share/gigaledger/nginx
	install -m 0755 $(STATIC_BIN) $(DESTDIR)$(PREFIX)/bin/gigaledger
	install -m 0644 deploy/nginx/gigaledger-publication.conf $(DESTDIR)$(PREFIX)/share/gigaledger/nginx/gigaledger-publication.conf
	@# The services (deploy/systemd: the server with its publication, the witness), their users and
	@# folders; systemd finds units under /usr/local/lib/systemd/system as under /usr/lib.
	install -d $(DESTDIR)$(PREFIX)/lib/systemd/system $(DESTDIR)$(PREFIX)/lib/sysusers.d $(DESTDIR)$(PREFIX)/lib/tmpfiles.d
	for unit in deploy/systemd/*.service; do \
	  sed 's|/usr/local/bin/gigaledger|$(PREFIX)/bin/gigaledger|' $$unit > $(DESTDIR)$(PREFIX)/lib/systemd/system/$$(basename $$unit) && \
	  chmod 0644 $(DESTDIR)$(PREFIX)/lib/systemd/system/$$(basename $$unit); \
	done
	install -m 0644 deploy/sysusers.d/gigaledger.conf $(DESTDIR)$(PREFIX)/lib/sysusers.d/gigaledger.conf
	install -m 0644 deploy/tmpfiles.d/gigaledger.conf $(DESTDIR)$(PREFIX)/lib/tmpfiles.d/gigaledger.conf
	@# The services' users, and their folders owned by them (root only; said, not done, without it).
	@if [ -n "$(DESTDIR)" ]; then mkdir -p $(DESTDIR)/etc; fi
	@if [ "$$(id -u)" = 0 ] && command -v systemd-sysusers >/dev/null && command -v systemd-tmpfiles >/dev/null; then \
	  systemd-sysusers $(if $(DESTDIR),--root=$(DESTDIR)) $(CURDIR)/deploy/sysusers.d/gigaledger.conf && \
	  systemd-tmpfiles $(if $(DESTDIR),--root=$(DESTDIR)) --create $(CURDIR)/deploy/tmpfiles.d/gigaledger.conf; \
	else \
	  echo "make install: not root (or no systemd): as root, run systemd-sysusers and systemd-tmpfiles --create on the files in $(PREFIX)/lib/sysusers.d and tmpfiles.d"; \
	fi
	install -m 0644 $(STATIC_BUILD)/man/gigaledger.1 $(DESTDIR)$(PREFIX)/share/man/man1/gigaledger.1
	$(STATIC_BIN) --generate-completion-script bash > $(DESTDIR)$(PREFIX)/share/bash-completion/completions/gigaledger
	$(STATIC_BIN) --generate-completion-script zsh > $(DESTDIR)$(PREFIX)/share/zsh/site-functions/_gigaledger
	$(STATIC_BIN) --generate-completion-script fish > $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/gigaledger.fish

# `make install` into a clean Debian root (debootstrap; needs root), then the README's Quick start
# run there by the installed binary, on a machine without Swift.
install-check: deps
	./scripts/install-check.sh

# The tests run the real binary, so build it first. The long loops run small here (make stress).
# scripts/run-tests.sh bounds the run's time and names the tests that never finished.
test: deps
	$(SWIFT) build
	SWIFT=$(SWIFT) ./scripts/run-tests.sh

# The long loops at full count: 30 SIGKILLs of a server under load from 8 officers' processes,
# 2,000 appends through it, 30 of imports, 8 writers of 250 entries each, a 250,000-row import.
STRESS_TESTS = ServerLoadTests|ReliabilityTests|StreamingImportTests
stress: deps
	$(SWIFT) build
	GIGALEDGER_STRESS=1 SWIFT=$(SWIFT) ./scripts/run-tests.sh --filter '$(STRESS_TESTS)'

# The formatter's rules (.swift-format: 150 columns), checked on every Swift file; `swift format
# format --in-place --recursive Sources Tests Plugins Package.swift` applies them.
# And every module a target imports is one it declares (scripts/check-imports.py: SwiftPM's own
# --explicit-target-dependency-import-check reports nothing on Linux with this toolchain).
lint:
	$(SWIFT) format lint --strict --recursive --parallel Sources Tests Plugins Package.swift
	./scripts/check-imports.py

# 100 SIGKILLs at random moments of `gigaledger import` (make test runs 12).
crash: deps
	$(SWIFT) build
	GIGALEDGER_CRASH_KILLS=100 $(SWIFT) test --filter killedImportsLeaveNoneOrAllRows

# A longer pass of the parser fuzzer (make test runs a short one).
fuzz: deps
	$(SWIFT) build
	GIGALEDGER_FUZZ_ITERATIONS=200000 $(SWIFT) test --filter FuzzTests

# Benchmarks against the raw limits measured in the same run; writes BENCHMARKS.md.
bench: deps release
	./scripts/with-postgres.sh $$($(SWIFT) build -c release --show-bin-path)/gigaledger-bench $$($(SWIFT) build -c release --show-bin-path)/gigaledger BENCHMARKS.md

demo: demo-deps
	$(SWIFT) build -c release
	DEMO_DIR=$(DEMO_DIR) GIGALEDGER=$$($(SWIFT) build -c release --show-bin-path)/gigaledger ./scripts/demo.sh

# Regenerates the Swift copy of schema/migrations/*.sql after a schema change.
schema:
	./scripts/embed-schema.sh

clean:
	rm -rf .build $(DEMO_DIR)
