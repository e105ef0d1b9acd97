// Package api is the hub's HTTP interface: health checks for orchestrators
// and the admin API under /api/v1 that the `hub` CLI talks to. The CLI never
// touches the hub's storage, so everything an admin can do goes through one
// authenticated, audited door.
//
// Every handler returns an error; one function renders every error as an RFC
// 9457 problem document, so clients parse one error shape everywhere.
package api
