// Command hub runs and administers a JobTech Data Hub.
package main

import (
	"os"

	"github.com/jobtech-dev/datahub/hub/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], os.Stdout, os.Stderr))
}
