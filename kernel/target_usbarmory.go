//go:build usbarmory

package main

import (
	"io"

	"github.com/usbarmory/tamago/soc/nxp/enet"

	board "github.com/raygate/raygate/board/usbarmory"
)

const targetName = "usbarmory"

func targetConsole() io.ReadWriter { return board.Console() }

func targetRAM() uint64 { return board.RAMSize }

func boardENET() *enet.ENET { return board.ENET() }
