// Makes sure SIGTERM and SIGINT can reach the relay: a parent (a test runner, some supervisors)
// may have started it with them blocked, and a blocked SIGTERM would make `kill` a no-op.
#if canImport(Glibc)
import Glibc
#endif

enum ShutdownSignals {
    static func unblock() {
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGTERM)
        sigaddset(&set, SIGINT)
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
    }
}
