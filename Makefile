SHELL := /bin/bash
# coda: build, test, install. `make help` lists the targets.

GO       ?= go
PREFIX   ?= /usr/local
DESTDIR  ?=
VERSION  := $(shell git describe --always --dirty 2>/dev/null || echo dev)
COMMIT   := $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
LDFLAGS  := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT)
BIN      := coda
DEMO_DIR ?= /tmp/coda-demo
FUZZTIME ?= 5s

# Names a symlink to the binary may have (main.go busyboxNames; a test
# checks that the two lists agree).
BUSYBOX := venus cfs hoard codacon clog ctokens cunlog cpasswd au pdbtool volutil createvol_rep purgevol_rep codadump2tar

.PHONY: all build install test test-deps fuzz fuzz-run bench demo man lint clean help

all: build

help:
	@echo "make            build ./coda (static)"
	@echo "make test       everything CI runs: race tests, then a short run of every fuzz target"
	@echo "make demo       build and start a local cell in $(DEMO_DIR) (scripts/coda-cell)"
	@echo "make install    install into \$$DESTDIR\$$PREFIX (default /usr/local)"
	@echo "make man | lint | fuzz | bench | clean"

# The shipped binary: static, no cgo.
build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN) .

install: build
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/coda/scripts
	install -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/coda
	for n in $(BUSYBOX); do ln -sf coda $(DESTDIR)$(PREFIX)/bin/$$n; done
	for s in 1 5 7 8; do \
		install -d $(DESTDIR)$(PREFIX)/share/man/man$$s; \
		for p in man/*.$$s; do [ -e "$$p" ] || continue; install -m 0644 "$$p" $(DESTDIR)$(PREFIX)/share/man/man$$s/; done; \
	done
	for f in scripts/coda-cell scripts/auth/coda-clog-init scripts/backup/coda-backup scripts/backup/coda-restore-files; do \
		install -m 0755 "$$f" $(DESTDIR)$(PREFIX)/share/coda/scripts/; \
	done
	scripts/install.sh $(PREFIX) $(DESTDIR)
	install -d $(DESTDIR)$(PREFIX)/share/bash-completion/completions $(DESTDIR)$(PREFIX)/share/zsh/site-functions
	./$(BIN) completion bash > $(DESTDIR)$(PREFIX)/share/bash-completion/completions/coda
	for n in $(BUSYBOX); do ln -sf coda $(DESTDIR)$(PREFIX)/share/bash-completion/completions/$$n; done
	./$(BIN) completion zsh > $(DESTDIR)$(PREFIX)/share/zsh/site-functions/_coda

# Tools the tests need, installed only when missing (CI runs as root on a
# fresh machine): gcc for -race, groff for the man page check, ip and nsenter
# for the network labs, bsdtar and zstd for the backup tests.
test-deps:
	@missing=""; \
	command -v gcc >/dev/null 2>&1 || missing="$$missing gcc libc6-dev"; \
	command -v groff >/dev/null 2>&1 || missing="$$missing groff-base"; \
	command -v ip >/dev/null 2>&1 || missing="$$missing iproute2"; \
	command -v nsenter >/dev/null 2>&1 || missing="$$missing util-linux"; \
	command -v bsdtar >/dev/null 2>&1 || missing="$$missing libarchive-tools"; \
	command -v zstd >/dev/null 2>&1 || missing="$$missing zstd"; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

# One package at a time (-p 1) so timing bars are not measured under the
# load of other packages; verbose, so every test duration is printed; the full log goes to
# test.log. No test may skip (CODA_TEST_DISALLOW_SKIP): a SKIP fails the run.
test: build test-deps
	@set -o pipefail; CODA_TEST_DISALLOW_SKIP=1 CODA_BIN=$(CURDIR)/$(BIN) CGO_ENABLED=1 \
		$(GO) test -p 1 -race -count=1 -timeout 28m -v ./... 2>&1 | tee test.log | \
		grep -E '^(ok|FAIL|panic|--- (PASS|FAIL|SKIP)|=== NAME)|^\s+--- (FAIL|SKIP)|_test.go:[0-9]+:|race detected' || \
		{ awk '/^WARNING: DATA RACE/{n++; p=(n<=3)} p{print} /^==================$$/{p=0} /^panic: /{q=60} q>0{print; q--}' test.log; exit 1; }
	@if grep -n -- '--- SKIP' test.log; then echo "FAIL: tests skipped (CODA_TEST_DISALLOW_SKIP)"; exit 1; fi
	$(MAKE) --no-print-directory fuzz-run FUZZTIME=100000x

# Every fuzz target (func FuzzX in a _test.go file), found anew each run.
fuzz-run:
	@set -e; grep -rl --include='*_test.go' '^func Fuzz' . | sort | while read -r f; do \
		dir=$$(dirname "$$f"); \
		for fn in $$(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' "$$f"); do \
			echo "fuzz $$dir $$fn ($(FUZZTIME))"; \
			out=$$($(GO) test -run='^$$' -fuzz="^$$fn$$" -fuzztime=$(FUZZTIME) "$$dir" 2>&1) || \
				{ echo "$$out"; echo "FAIL: fuzz $$dir $$fn"; exit 1; }; \
		done; \
	done

fuzz:
	$(MAKE) --no-print-directory fuzz-run FUZZTIME=5000000x

bench: build
	CODA_BIN=$(CURDIR)/$(BIN) scripts/bench.sh
	go test -run '^$$' -bench 'Resync|PartitionResolution|Reintegration|HugeDirectory|DumpThroughput' -benchtime 1x ./client/e2e/
	go test -run '^$$' -bench 'Clone100k' -benchtime 1x ./server/volume/

# Prints where the cell is mounted and how to stop it.
demo: build
	@CODA_BIN=$(CURDIR)/$(BIN) scripts/coda-cell start $(DEMO_DIR)

man:
	$(GO) run . gen-man man

lint:
	$(GO) vet ./...
	$(GO) test -count=1 -run 'TestImportRules|TestManPagesAreCurrent' .

clean:
	rm -f $(BIN)
	$(GO) clean -testcache
