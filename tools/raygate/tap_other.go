//go:build !linux

package main

import (
	"context"
	"errors"
	"net"
)

type tapNet struct{}

func openTap(name, address string) (*tapNet, error) {
	return nil, errors.New("-tap needs Linux")
}

func (*tapNet) listen(string, string) (net.Listener, error) { return nil, errors.New("no TAP") }

func (*tapNet) dial(context.Context, string, string) (net.Conn, error) {
	return nil, errors.New("no TAP")
}
