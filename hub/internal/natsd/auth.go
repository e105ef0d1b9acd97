package natsd

import "github.com/nats-io/nats-server/v2/server"

// User is one identity the server accepts, with what it may do.
type User struct {
	// Name is the actor name, or the hub's own name for its identity.
	Name string
	// PublicKey is the user's nkey public key (starts with "U"). The server
	// verifies the connection's signature of its nonce against it.
	PublicKey string
	// Permissions are enforced by the server on every message; nil means
	// unrestricted and is only for the hub's own identity.
	Permissions *server.Permissions
}

// nkeyUsers turns users into the server's option form, in a stable order so
// an unchanged set does not look changed to a reload.
func nkeyUsers(users []User) []*server.NkeyUser {
	out := make([]*server.NkeyUser, 0, len(users))
	for _, u := range users {
		out = append(out, &server.NkeyUser{Nkey: u.PublicKey, Permissions: u.Permissions})
	}
	return out
}
