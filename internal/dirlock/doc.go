// Package dirlock keeps a directory to one process at a time: an exclusive
// OS file lock (flock) on a LOCK file inside it, with the holder's process
// id, host, command and start time written into the file so a refused
// process can say who holds it.
//
// Why an OS lock and not a PID file: the kernel drops the lock when its
// process ends, however it ends (SIGKILL, a crash, a power cut), so a
// restart after a crash is never refused by a stale file, and two processes
// can never both believe they hold it. Both the hub's data dir and the
// connector's outbox are guarded this way; two writers on one JetStream
// store or one outbox corrupt it for good.
//
// Outside Unix there is no flock: [Acquire] only records the holder there,
// and the caller must make sure one process uses the directory.
package dirlock
