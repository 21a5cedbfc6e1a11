package netns_test

import (
	"context"
	"fmt"
	"log"
	"net/netip"

	"github.com/svcnat/svcnat/netns"
)

// A demo binary builds a lab without testing.T and closes it itself.
func ExampleNew() {
	lab, err := netns.New("svcnat-demo")
	if err != nil {
		log.Fatal(err)
	}
	defer lab.Close()

	pod, err := lab.AddPod("web", netip.MustParseAddr("10.244.1.5"), netip.MustParseAddr("fd00:244:1::5"))
	if err != nil {
		log.Fatal(err)
	}
	if _, err := pod.Serve(netns.TCP, 8080); err != nil {
		log.Fatal(err)
	}
	r, err := lab.Client.Dial(context.Background(), netns.TCP, netip.MustParseAddrPort("10.244.1.5:8080"), 0)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("answered by", r.Server, "seeing", r.SeenSource.Addr())
}
