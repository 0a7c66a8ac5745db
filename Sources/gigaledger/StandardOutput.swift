// Only the C library here: `stdout` is C's global stream, which the C library sets once before
// `main` (@preconcurrency says so); Foundation's import of the same module would not.
#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// Whether a write to standard output has failed: a line-buffered or unbuffered stream writes as it
/// goes, and its failure is kept only in the stream's error flag.
func standardOutputWriteFailed() -> Bool { ferror(stdout) != 0 }
