// Package fds tells a process how many file descriptors it may open and how
// many it has open. A server that accepts connections from strangers shares
// one descriptor table between their sockets and its own files; knowing both
// figures lets it cap connections below the limit and say, when a file
// cannot be opened, that the table is full.
package fds
