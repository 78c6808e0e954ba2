//go:build tamago && amd64

package microvm

// defined in port_amd64.s
func outb(port uint16, val uint8)
func inb(port uint16) uint8
