// Command connector is the actor-side sidecar of the JobTech Data Hub. This
// build carries only its skeleton: the local HTTP API, sources, sinks and
// outbox arrive with the connector kit (see the README's roadmap).
package main

import (
	"fmt"
	"os"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "version" {
		fmt.Println("connector (JobTech Data Hub) dev")
		return
	}
	fmt.Fprintln(os.Stderr, "connector: the sidecar's commands are not built yet; see README.md (roadmap).\nusage: connector version")
	os.Exit(2)
}
