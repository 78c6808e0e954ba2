# raygate: build the image, boot it, test it.
#
#   make qemu [TARGET=microvm|mx6ullevk]   boot the demo image, gateway on :8080
#   make test                              hosted tests, then image tests (or one SKIP line)
#   make image TARGET=... [CONFIG=...]     build build/raygate-$(TARGET).elf (+ .imx on i.MX)
#   make run                               hosted gateway with the demo config on :8080

SHELL   := /bin/bash
TARGET  ?= microvm
CONFIG  ?= configs/demo.yaml
OUT     ?= build
PORT    ?= 8080
ACCEL   ?= auto
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)

# The TamaGo compiler: `go tool tamago` runs it from the user cache folder,
# building it on first use from a clone of github.com/usbarmory/tamago-go.
TAMAGO_TAG    := tamago-go$(shell awk '$$1=="github.com/usbarmory/tamago"{sub(/^v/,"",$$2);print $$2}' go.mod)
TAMAGO_GOROOT := $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/tamago-go/$(TAMAGO_TAG)
TAMAGO_GO     := $(TAMAGO_GOROOT)/bin/go

ifeq ($(TARGET),microvm)
  GOENV      := GOOS=tamago GOOSPKG=github.com/usbarmory/tamago GOARCH=amd64
  TEXT_START := 0x10010000
else ifeq ($(TARGET),$(filter $(TARGET),mx6ullevk usbarmory))
  GOENV      := GOOS=tamago GOOSPKG=github.com/usbarmory/tamago GOARCH=arm GOARM=7
  TEXT_START := 0x80010000
else
  $(error TARGET must be microvm, mx6ullevk or usbarmory, not "$(TARGET)")
endif

IMAGE   := $(OUT)/raygate-$(TARGET).elf
LDFLAGS := -T $(TEXT_START) -R 0x1000 -X main.Version=$(VERSION)

# Fuzz targets, as package:Function. `make fuzz` runs each for FUZZTIME;
# `make test` runs each for 10,000 executions (see test-hosted).
FUZZ_TARGETS := ./gateway/config:FuzzParse ./gateway/route:FuzzNormalize ./gateway/route:FuzzLookup ./gateway/auth:FuzzCredentials ./gateway:FuzzStrictFraming ./shell:FuzzExec ./net/netstack:FuzzDeliverFrame ./gateway/mediate:FuzzValidate ./gateway/mediate/convert:FuzzXMLToJSON ./gateway/mediate/convert:FuzzJSONToXML ./gateway/mediate/convert:FuzzFormToJSON ./gateway/mediate/protoconv:FuzzWireToJSON ./gateway/mediate/protoconv:FuzzJSONToWire ./gateway/mediate/transform:FuzzApply ./net/virtionet:FuzzUsedRing
FUZZTIME     ?= 2m

.PHONY: all image qemu run test test-hosted test-image fuzz soak bench bench-setup bench-image clean check-compiler FORCE

all: image

check-compiler:
	@if [ ! -x "$(TAMAGO_GO)" ]; then \
	  echo "note: the TamaGo compiler ($(TAMAGO_TAG)) is not in $(TAMAGO_GOROOT);"; \
	  echo "      'go tool tamago' will clone and build it from github.com/usbarmory/tamago-go (needs network)."; \
	fi

# The configuration is embedded through a build overlay that puts CONFIG in
# place of kernel/config.yaml, so the tree is never modified by a build.
$(OUT)/overlay-$(TARGET).json: FORCE
	@mkdir -p $(OUT)
	@printf '{"Replace":{"%s":"%s"}}\n' "$(CURDIR)/kernel/config.yaml" "$(abspath $(CONFIG))" > $@

image: check-compiler $(OUT)/overlay-$(TARGET).json
	@test -f "$(CONFIG)" || { echo "CONFIG $(CONFIG) not found"; exit 1; }
	go run ./tools/raygate -check -config $(CONFIG)
	$(GOENV) $$(go tool -n tamago) build -tags $(TARGET) -trimpath -overlay $(OUT)/overlay-$(TARGET).json \
	  -ldflags "$(LDFLAGS)" -o $(IMAGE) ./kernel
	@echo "image: $(IMAGE) ($$(stat -c %s $(IMAGE)) bytes)"
ifneq ($(TARGET),microvm)
	@$(MAKE) --no-print-directory imx TARGET=$(TARGET) OUT=$(OUT)
endif

# .imx: the ELF's loadable sections as a flat binary behind an i.MX boot
# header with the board's DCD (device configuration data), as the i.MX6
# boot ROM expects on SD/eMMC or over USB (Serial Download Protocol).
imx:
	@command -v mkimage >/dev/null && command -v arm-none-eabi-objcopy >/dev/null || { echo "imx images need mkimage and arm-none-eabi-objcopy: apt-get install u-boot-tools binutils-arm-none-eabi"; exit 1; }
	arm-none-eabi-objcopy -j .text -j .rodata -j .shstrtab -j .typelink -j .itablink -j .gopclntab \
	  -j .go.buildinfo -j .go.module -j .noptrdata -j .data \
	  -j .bss --set-section-flags .bss=alloc,load,contents \
	  -j .noptrbss --set-section-flags .noptrbss=alloc,load,contents \
	  -O binary $(IMAGE) $(OUT)/raygate-$(TARGET).bin
	cp -f $$(go list -m -f '{{.Dir}}' github.com/usbarmory/tamago)/board/$(if $(filter usbarmory,$(TARGET)),usbarmory/mk2,nxp/mx6ullevk)/imximage.cfg $(OUT)/raygate-$(TARGET).dcd
	mkimage -n $(OUT)/raygate-$(TARGET).dcd -T imximage -e $(TEXT_START) -d $(OUT)/raygate-$(TARGET).bin $(OUT)/raygate-$(TARGET).imx
	# copy the entry point from the ELF header into the i.MX header
	dd if=$(IMAGE) of=$(OUT)/raygate-$(TARGET).imx bs=1 count=4 skip=24 seek=4 conv=notrunc status=none
	@echo "image: $(OUT)/raygate-$(TARGET).imx ($$(stat -c %s $(OUT)/raygate-$(TARGET).imx) bytes)"

qemu: image
	go run ./tools/qemurun -target $(TARGET) -image $(IMAGE) -config $(CONFIG) -port $(PORT) -accel $(ACCEL)

run:
	go run ./tools/raygate -config $(CONFIG) -demo -listen 127.0.0.1:$(PORT)

test: test-hosted
	@if [ -x "$(TAMAGO_GO)" ]; then \
	  $(MAKE) --no-print-directory test-image; \
	else \
	  echo "SKIP: image tests: the TamaGo compiler ($(TAMAGO_TAG)) is not installed in $(TAMAGO_GOROOT)"; \
	fi

# make test fuzzes each target for a count of executions, not a time: Go
# 1.26's fuzz coordinator can report a spurious "context deadline
# exceeded" when a -fuzztime duration ends (golang/go#75804, fixed in Go
# 1.27). `make fuzz` runs for FUZZTIME and treats that exact report, with
# no crasher written, as the end of the run rather than a failure.
test-hosted:
	go vet ./...
	go test -count=1 -race ./...
	@$(MAKE) --no-print-directory fuzz FUZZTIME=10000x

fuzz:
	@for t in $(FUZZ_TARGETS); do \
	  pkg=$${t%%:*}; fn=$${t##*:}; \
	  echo "fuzz: $$fn in $$pkg for $(FUZZTIME)"; \
	  before=$$(ls $$pkg/testdata/fuzz/$$fn 2>/dev/null | wc -l); \
	  out=$$(go test -run '^$$' -fuzz "^$$fn\$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 5s $$pkg 2>&1); rc=$$?; \
	  echo "$$out" | tail -n 4; \
	  after=$$(ls $$pkg/testdata/fuzz/$$fn 2>/dev/null | wc -l); \
	  if [ $$rc -ne 0 ]; then \
	    if [ "$$after" = "$$before" ] && echo "$$out" | grep -q "^    context deadline exceeded$$" && ! echo "$$out" | grep -q "Failing input"; then \
	      echo "fuzz: $$fn: Go's fuzztime deadline race (golang/go#75804), no crasher: run ended"; \
	    else echo "$$out"; exit 1; fi; \
	  fi; \
	done

test-image:
	go test -count=1 -tags imagetest -timeout 20m -v ./tools/imagetest/

# The image under steady load for SOAK (default 3m; `make test` runs 20 s),
# with heap and goroutines sampled on the serial console.
SOAK ?= 3m
soak: check-compiler
	RAYGATE_SOAK=$(SOAK) go test -count=1 -tags imagetest -timeout 15m -run Soak -v ./tools/imagetest/

# The peers run from their Debian packages; the packages' own services are
# stopped (the benchmark starts each peer on a loopback port of its own).
bench-setup:
	@need=""; for p in nginx:nginx-light haproxy:haproxy caddy:caddy wrk:wrk taskset:util-linux; do \
	  command -v $${p%%:*} >/dev/null || need="$$need $${p##*:}"; done; \
	if [ -n "$$need" ]; then \
	  echo "bench: installing$$need"; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$need; \
	  for s in nginx haproxy caddy; do service $$s stop >/dev/null 2>&1 || true; done; \
	fi

bench: bench-setup
	go run ./tools/bench -out bench/RESULTS.md

# The image's footprint: sizes, boot timeline, heap, req/s through QEMU.
bench-image:
	RAYGATE_BENCH_IMAGE=1 go test -count=1 -tags imagetest -timeout 30m -run Footprint -v ./tools/imagetest/

clean:
	rm -rf $(OUT)

FORCE:
