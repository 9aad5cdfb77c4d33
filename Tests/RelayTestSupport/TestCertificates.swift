// TestCertificates: the fixed certificates the loopback test server serves https with, checked in (as
// Hummingbird keeps its own in Tests/HummingbirdTests/Certificates.swift) so no test runs openssl.
//
// A CA and a server certificate for 127.0.0.1 and localhost signed by it, EC P-256, valid 100 years
// from 2026-12-06. Made once with OpenSSL 3.0:
//
//   openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ca-key.pem -out ca.pem \
//     -days 36500 -subj "/CN=audience-relay Test CA" \
//     -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
//   openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout server-key.pem -out server.csr \
//     -subj /CN=localhost
//   printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >server.ext
//   openssl x509 -req -in server.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -out server.pem \
//     -days 36500 -extfile server.ext
//
// The CA's key is kept so another leaf (a wrong host, a client certificate) can be signed by the same CA.

import Foundation

/// The test CA and the server certificate it signed, as PEM text. None of it is trusted by the system,
/// so a client that is not given ``caCertificate`` refuses the server.
public enum TestCertificates {
    /// The CA (`CN=audience-relay Test CA`): what a client trusts to accept ``serverCertificate``.
    public static let caCertificate = """
        -----BEGIN CERTIFICATE-----
        MIIBqDCCAU+gAwIBAgIUb9YbnhFQ76IrEwaQIjzoWnz5hd4wCgYIKoZIzj0EAwIw
        ITEfMB0GA1UEAwwWYXVkaWVuY2UtcmVsYXkgVGVzdCBDQTAgFw0yNjEyMDYxMTIz
        MDJaGA8yMTI2MTExMjExMjMwMlowITEfMB0GA1UEAwwWYXVkaWVuY2UtcmVsYXkg
        VGVzdCBDQTBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABHm/6GJor7FJCelRlGbt
        q8iglZI7EqNcVYXxeSLmgtBnffJj0yiGYqu9HGX+O7GNCbRMuvxb4KflKmcf6eK9
        3PCjYzBhMB0GA1UdDgQWBBRZhqMwVArPtMiRazgPOHRfIZ/lDjAfBgNVHSMEGDAW
        gBRZhqMwVArPtMiRazgPOHRfIZ/lDjAPBgNVHRMBAf8EBTADAQH/MA4GA1UdDwEB
        /wQEAwIBBjAKBggqhkjOPQQDAgNHADBEAiAaUT5uHHTVq4FnooooffrwoeQMp3sR
        FVVRHwK1mz/hvAIgIHDk1XcQdtO+ptYXIlhniAyiIJ7HgJr/q84uSgyuOQY=
        -----END CERTIFICATE-----
        """

    /// The CA's private key (no test uses it; it signs further test certificates).
    public static let caKey = """
        -----BEGIN PRIVATE KEY-----
        MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgzhs5NhXvOwluMZmf
        9hp3Ndr37vWkpp8ZYMmF3VzwE/ShRANCAAR5v+hiaK+xSQnpUZRm7avIoJWSOxKj
        XFWF8Xki5oLQZ33yY9MohmKrvRxl/juxjQm0TLr8W+Cn5SpnH+nivdzw
        -----END PRIVATE KEY-----
        """

    /// A server certificate for `IP:127.0.0.1` and `DNS:localhost`, signed by ``caCertificate``.
    public static let serverCertificate = """
        -----BEGIN CERTIFICATE-----
        MIIBuDCCAV2gAwIBAgIUEqMPKIed1t1zHAZTbJOICBACx6owCgYIKoZIzj0EAwIw
        ITEfMB0GA1UEAwwWYXVkaWVuY2UtcmVsYXkgVGVzdCBDQTAgFw0yNjEyMDYxMTIz
        MDJaGA8yMTI2MTExMjExMjMwMlowFDESMBAGA1UEAwwJbG9jYWxob3N0MFkwEwYH
        KoZIzj0CAQYIKoZIzj0DAQcDQgAElDjGxSXtTAuexlKIgrqyabWGZU6kMu8WHFh/
        f/SY39HmLxKamz5NauaEG/Px1EVt10dYL/4qy+8JNcpoyKhXaqN+MHwwGgYDVR0R
        BBMwEYcEfwAAAYIJbG9jYWxob3N0MAkGA1UdEwQCMAAwEwYDVR0lBAwwCgYIKwYB
        BQUHAwEwHQYDVR0OBBYEFEQ3sLmdRWadMovv5K1zbRdG0ev1MB8GA1UdIwQYMBaA
        FFmGozBUCs+0yJFrOA84dF8hn+UOMAoGCCqGSM49BAMCA0kAMEYCIQDFgzfcRYqb
        zj84KtQPWPqUQsoaxBWyr8Aus0l3Hi1rWAIhAN08AAiFpVorLPezpB+O/4/aPb92
        Yb1KxKmIoDeSk3lE
        -----END CERTIFICATE-----
        """

    /// The private key of ``serverCertificate``.
    public static let serverKey = """
        -----BEGIN PRIVATE KEY-----
        MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgb3mYe5I/d0KHPtE6
        dM03IWGedMIfbhTEd7BsuvlvXGChRANCAASUOMbFJe1MC57GUoiCurJptYZlTqQy
        7xYcWH9/9Jjf0eYvEpqbPk1q5oQb8/HURW3XR1gv/irL7wk1ymjIqFdq
        -----END PRIVATE KEY-----
        """

    /// Writes the CA certificate, the server certificate and its key as PEM files into `directory`
    /// (created if needed; a fresh temporary directory when nil), for whatever reads files.
    public static func files(in directory: URL? = nil) throws -> TestCertificateFiles {
        let directory = directory ?? FileManager.default.temporaryDirectory.appendingPathComponent("test-certificates-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let files = TestCertificateFiles(directory: directory)
        for (text, path) in [(caCertificate, files.caCertificate), (serverCertificate, files.serverCertificate), (serverKey, files.serverKey)] {
            try (text + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        }
        return files
    }
}

/// ``TestCertificates`` written to disk by ``TestCertificates/files(in:)``.
public struct TestCertificateFiles: Sendable {
    public let directory: URL
    /// Path of the CA certificate (a client's `caFile`).
    public var caCertificate: String { directory.appendingPathComponent("test-ca.pem").path }
    /// Path of the server certificate.
    public var serverCertificate: String { directory.appendingPathComponent("test-server.pem").path }
    /// Path of the server certificate's key.
    public var serverKey: String { directory.appendingPathComponent("test-server-key.pem").path }

    /// Deletes the directory and the files in it.
    public func remove() {
        try? FileManager.default.removeItem(at: directory)
    }
}
