// Package readmetest holds the test that runs the README's shell blocks as
// written, so that the walkthrough a new user follows cannot rot: every
// block runs in order against the real binaries, in a network namespace of
// its own so the README's default ports are free.
package readmetest
