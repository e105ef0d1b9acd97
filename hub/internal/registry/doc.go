// Package registry holds the hub's dataset declarations and their compiled
// schemas; it is the one place that says which datasets exist and what a
// valid record of each looks like.
//
// Datasets are declared as files kept in git: one dataset.yaml per folder of
// the schemas directory, next to its JSON Schema. [LoadDir] reads and checks
// them all, reporting every mistake with its file and line; [Registry] holds
// the loaded set for the hot path, where readers never take a lock.
package registry
