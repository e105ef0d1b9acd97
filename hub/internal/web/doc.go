// Package web is the hub's face for people: the public catalog of datasets
// and services (the Jobstore), open-data downloads, actors' sign-in with
// their own key and their access requests, and the admin pages.
//
// Everything is rendered on the server with html/template, which escapes
// every value by its context: job ads, service descriptions, purposes and
// reasons are written by anyone and are never trusted as markup (nothing
// here builds template.HTML from stored content). Templates, the style sheet
// and the one small script (live counters) are embedded in the binary; the
// pages work without JavaScript. A Content-Security-Policy allows only the
// hub's own script and style, so an injected script could not run even if
// one slipped through.
//
// Access: the catalog is public and shows every dataset's description and
// schema (a would-be subscriber must see what exists to ask for it) but
// records only of open datasets, and nothing of actors' rights. An actor
// signs in with a one-time link that `connector login` obtains by signing the
// hub's challenge with the actor's nkey on the actor's machine — the private
// key never reaches the browser or the hub. An admin signs in with the admin
// token. Sessions are HttpOnly, SameSite=Strict cookies (Secure under TLS)
// that expire; every form carries a CSRF token; sign-in and downloads are
// rate-limited per client address.
package web
