// Package imagetest boots raygate images in QEMU and checks them end to end:
// the serial console, the netstack and the gateway, over QEMU's forwarded
// port to a backend on the host. The tests are behind the `imagetest` build
// tag (`make test-image`) because they need the TamaGo compiler and QEMU.
package imagetest
