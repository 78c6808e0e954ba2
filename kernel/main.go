// Command kernel is the raygate image: it boots the board, brings up the
// network, starts the gateway and runs the console shell. Build it with
// `make image TARGET=...`; the target's board is chosen by build tag.
package main

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"runtime"
	"time"

	"github.com/raygate/raygate/net/netstack"
)

func main() {
	fmt.Printf("raygate %s on %s, %d CPU, %d MiB RAM for Go, %s\n", runtime.Version(), targetName, runtime.NumCPU(), targetRAM()>>20, targetClock())
	fmt.Printf("boot: %d ms since reset at main\n", targetSinceReset().Milliseconds())

	dev, err := targetNIC()
	if err != nil {
		fmt.Println("net:", err)
		os.Exit(1)
	}
	st, err := netstack.New(netstack.Config{
		MAC:     dev.MAC(),
		Address: netip.MustParsePrefix("10.0.0.1/24"),
		Gateway: netip.MustParseAddr("10.0.0.2"),
	}, dev)
	if err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	net.SocketFunc = st.Socket
	dev.Start(st)
	fmt.Printf("boot: %d ms netstack up on %s\n", targetSinceReset().Milliseconds(), dev.Name())
	ln, err := net.Listen("tcp", ":80")
	if err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	fmt.Printf("boot: %d ms listening on :80\n", targetSinceReset().Milliseconds())
	http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "ok %s\n", time.Now())
	}))
}
