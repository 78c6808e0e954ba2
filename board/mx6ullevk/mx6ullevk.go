//go:build tamago && arm

// Package mx6ullevk is raygate's board for the NXP MCIMX6ULL-EVK, real or
// emulated by QEMU's `-machine mcimx6ul-evk`. Hardware set-up (clocks, pads,
// KSZ8081 PHYs, UART1 console) is tamago's board/nxp/mx6ullevk.
//
// This package is only meant to be used with GOOS=tamago GOARCH=arm.
package mx6ullevk

import (
	"github.com/usbarmory/tamago/soc/nxp/enet"
	"github.com/usbarmory/tamago/soc/nxp/imx6ul"
	"github.com/usbarmory/tamago/soc/nxp/uart"

	_ "github.com/usbarmory/tamago/board/nxp/mx6ullevk"
)

// RAMSize is the memory given to the Go runtime (tamago's board default).
const RAMSize = 512 << 20

// Console is the serial console (UART1, the EVK's debug USB port).
func Console() *uart.UART { return imx6ul.UART1 }

// ENET returns the MAC raygate uses: ENET2 on the board, ENET1 under QEMU,
// which emulates only the first.
func ENET() *enet.ENET {
	if imx6ul.Native {
		return imx6ul.ENET2
	}
	return imx6ul.ENET1
}
