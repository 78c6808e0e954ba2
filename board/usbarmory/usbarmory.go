//go:build tamago && arm

// Package usbarmory is raygate's board for the USB armory Mk II LAN
// (i.MX6ULZ, ENET2 to a DP83825I PHY, UART2 console on the debug accessory).
// Hardware set-up is tamago's board/usbarmory/mk2. It runs on hardware only:
// QEMU has no model of this board.
//
// This package is only meant to be used with GOOS=tamago GOARCH=arm.
package usbarmory

import (
	"github.com/usbarmory/tamago/board/usbarmory/mk2"
	"github.com/usbarmory/tamago/soc/nxp/enet"
	"github.com/usbarmory/tamago/soc/nxp/imx6ul"
	"github.com/usbarmory/tamago/soc/nxp/uart"
)

// RAMSize is the memory given to the Go runtime (tamago's board default).
const RAMSize = 512 << 20

// Console is the serial console (UART2).
func Console() *uart.UART { return imx6ul.UART2 }

// ENET returns the LAN model's MAC; nil on models without Ethernet.
func ENET() *enet.ENET {
	if _, name := mk2.Model(); name != "UA-MKII-LAN" && imx6ul.Native {
		return nil
	}
	if !imx6ul.Native {
		return imx6ul.ENET1
	}
	return imx6ul.ENET2
}

// Model names the board revision.
func Model() string {
	_, name := mk2.Model()
	return name
}
