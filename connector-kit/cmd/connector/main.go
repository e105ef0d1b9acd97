// Command connector is the actor-side sidecar of the JobTech Data Hub.
package main

import (
	"os"

	"github.com/jobtech-dev/datahub/connector-kit/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], os.Stdout, os.Stderr))
}
