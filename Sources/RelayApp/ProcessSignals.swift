// Signals the whole process cares about, set up before anything else starts: SIGTERM/SIGINT can always
// reach the relay, SIGHUP never ends it, a second SIGTERM/SIGINT ends it at once, and a shutdown that
// overruns its grace period is ended by a watchdog.
import Dispatch
import Foundation
import Logging
import RelayCore
#if canImport(Glibc)
import Glibc
#endif

enum ProcessSignals {
    /// Unblocks SIGTERM/SIGINT (a parent may have started us with them blocked, and a blocked SIGTERM
    /// makes `kill` a no-op) and ignores SIGHUP until the routing service listens for it: its default
    /// action would end the process.
    static func prepare() {
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGTERM)
        sigaddset(&set, SIGINT)
        sigaddset(&set, SIGHUP)
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
        signal(SIGHUP, SIG_IGN)
    }

    /// The first SIGTERM/SIGINT starts the graceful shutdown (the ServiceGroup handles it) and a watchdog:
    /// if the process is still there `grace` + `margin` later, it exits with status 1. A second signal
    /// exits at once with 128 + the signal's number. Both log one line first.
    static func escalate(grace: Duration, margin: Duration = .seconds(5), logger: Logger) -> [any DispatchSourceSignal] {
        let received = Received()
        return [SIGTERM, SIGINT].map { number in
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                if received.first() {
                    DispatchQueue.global().asyncAfter(deadline: .now() + (grace + margin).seconds) {
                        logger.critical("shutdown overran its grace period; exiting now (undelivered work stays in the outbox)",
                                        metadata: ["grace": "\(grace)"])
                        exit(1)
                    }
                } else {
                    logger.warning("second signal during shutdown; exiting now (undelivered work stays in the outbox)",
                                   metadata: ["signal": "\(number)"])
                    exit(128 + number)
                }
            }
            source.resume()
            return source
        }
    }

    private final class Received: @unchecked Sendable {
        // @unchecked: guarded by `lock`.
        private let lock = NSLock()
        private var count = 0

        /// True for the first signal of all.
        func first() -> Bool {
            lock.lock()
            defer { lock.unlock() }
            count += 1
            return count == 1
        }
    }
}
