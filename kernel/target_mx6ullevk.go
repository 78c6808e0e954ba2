//go:build mx6ullevk

package main

import (
	"io"

	"github.com/usbarmory/tamago/soc/nxp/enet"

	board "github.com/raygate/raygate/board/mx6ullevk"
)

const targetName = "mx6ullevk"

func targetConsole() io.ReadWriter { return board.Console() }

func targetRAM() uint64 { return board.RAMSize }

func boardENET() *enet.ENET { return board.ENET() }
