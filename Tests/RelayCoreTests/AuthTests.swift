// Auth primitives: Standard Webhooks against the scheme's published example, constant-time comparison, secret references.
import Foundation
import RelayCore
import Testing

@Suite struct AuthTests {
    @Test func standardWebhooksPublishedExample() {
        let key = StandardWebhooks.key(fromSecret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
        let header = StandardWebhooks.headerValue(key: key, id: "msg_p5jXN8AQM9LWM0D4loKWxJek", timestamp: 1614265330,
                                                  body: Array(#"{"test": 2432232314}"#.utf8))
        #expect(header == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
        let now = Date(timeIntervalSince1970: 1614265330 + 10)
        #expect(StandardWebhooks.verify(id: "msg_p5jXN8AQM9LWM0D4loKWxJek", timestamp: "1614265330", signatures: "v1,bogus " + header,
                                        body: Array(#"{"test": 2432232314}"#.utf8), keys: [[1, 2, 3], key], tolerance: .seconds(300), now: now) == nil)
        #expect(StandardWebhooks.verify(id: "msg_p5jXN8AQM9LWM0D4loKWxJek", timestamp: "1614265330", signatures: header,
                                        body: Array(#"{"test": 2432232314}"#.utf8), keys: [key], tolerance: .seconds(5), now: now) == .timestampOutsideTolerance)
    }

    @Test func aSignerWithItsKeyScheduleComputedOnceSignsLikeTheOneShotFunction() {
        let key = StandardWebhooks.key(fromSecret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
        let signer = StandardWebhooks.Signer(key: key)
        #expect(signer.headerValue(id: "msg_p5jXN8AQM9LWM0D4loKWxJek", timestamp: 1614265330, body: Array(#"{"test": 2432232314}"#.utf8))
                == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
        // Reused for many messages (and long keys, hashed into the schedule), each signature is the message's own.
        let longKey = Array(repeating: UInt8(7), count: 100)
        let longSigner = StandardWebhooks.Signer(key: longKey)
        for number in 0..<50 {
            let body = Array("{\"n\":\(number)}".utf8)
            #expect(signer.signature(id: "msg_\(number)", timestamp: 1_700_000_000 + Int64(number), body: body)
                    == StandardWebhooks.signature(key: key, id: "msg_\(number)", timestamp: 1_700_000_000 + Int64(number), body: body))
            #expect(longSigner.headerValue(id: "m", timestamp: Int64(number), body: body)
                    == StandardWebhooks.headerValue(key: longKey, id: "m", timestamp: Int64(number), body: body))
        }
    }

    @Test(arguments: [("abc", "abc", true), ("abc", "abd", false), ("ab", "abc", false), ("abcd", "abc", false), ("", "", true), ("", "a", false)])
    func constantTimeEquals(_ a: String, _ b: String, _ equal: Bool) {
        #expect(ConstantTime.equals(Array(a.utf8), Array(b.utf8)) == equal)
    }

    @Test func secretReferences() throws {
        #expect(try SecretReference(parsing: "env:TOKEN").location == .environment("TOKEN"))
        #expect(try SecretReference(parsing: "file:/run/secrets/x").location == .file("/run/secrets/x"))
        #expect(throws: SecretReferenceError.self) { try SecretReference(parsing: "hunter2") }
        #expect(throws: SecretReferenceError.self) { try SecretReference(parsing: "env:") }
    }

    @Test func durationsAndSizes() {
        #expect(ConfigValues.duration("250ms") == .milliseconds(250))
        #expect(ConfigValues.duration("5m") == .seconds(300))
        #expect(ConfigValues.duration("24h") == .seconds(86400))
        #expect(ConfigValues.duration("7") == .seconds(7))
        #expect(ConfigValues.duration("soon") == nil)
        #expect(ConfigValues.byteSize("1MiB") == 1 << 20)
        #expect(ConfigValues.byteSize("64KiB") == 65536)
        #expect(ConfigValues.byteSize("big") == nil)
        // Out of range is not a value: these trapped, so `routes check` and a reload crashed (fuzz-routes found the
        // duration; the size overflow sat next to it).
        #expect(ConfigValues.duration("1e39s") == nil)
        #expect(ConfigValues.duration("9300000000000000000ms") == nil)
        #expect(ConfigValues.duration("1e300") == nil)
        #expect(ConfigValues.duration("inf") == nil)
        #expect(ConfigValues.duration("1e12s") == .milliseconds(1_000_000_000_000_000))
        #expect(ConfigValues.byteSize("9999999999999GiB") == nil)
        #expect(ConfigValues.byteSize("9223372036854775807B") == Int.max)
    }
}
