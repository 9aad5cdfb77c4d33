// Every error the routing-table loader can report, one case each, with its exact line, column and message.
import RelayCore
import Testing

@Suite struct RoutingTableErrorTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var yaml: String
        /// `line:column: message` of every error, in file order.
        var expected: [String]

        init(_ name: String, _ yaml: String, _ expected: [String]) {
            self.name = name
            self.yaml = yaml
            self.expected = expected
        }

        var testDescription: String { name }
    }

    /// A table with the given `sources:` on line 1 and nothing else.
    static func sources(_ sources: String) -> String { "sources: \(sources)\ndestinations: {}\nroutes: []\n" }

    /// One adobe-run source `s` at `/s` with `extra` settings, on line 1.
    static func source(_ extra: String) -> String { sources("{s: {kind: adobe-run, path: /s, \(extra)}}") }

    /// A table with the given `destinations:` on line 2.
    static func destinations(_ destinations: String) -> String { "sources: {}\ndestinations: \(destinations)\nroutes: []\n" }

    /// Sources `s` (adobe-run), `n` (sitecore-export without export settings) and `x` (with them), destination `k`,
    /// and the given routes on line 3 (as a flow list unless `list` is false).
    static func routes(_ routes: String, list: Bool = true) -> String {
        """
        sources: {s: {kind: adobe-run, path: /s}, n: {kind: sitecore-export, path: /n}, x: {kind: sitecore-export, path: /x, export: {allowHosts: [h.example]}}}
        destinations: {k: {type: kafka, brokers: embedded, topic: t}}
        routes: \(list ? "[\(routes)]" : routes)

        """
    }

    /// A sitecore-export source `x` whose `export:` section is `export`, on line 1.
    static func exportSource(_ export: String) -> String { sources("{x: {kind: sitecore-export, path: /x, export: \(export)}}") }

    /// A fetchExport route from source `x` whose `export:` section is `export`, on line 3.
    static func exportRoute(_ export: String) -> String { routes("{name: r, source: x, to: k, fetchExport: true, export: \(export)}") }

    static let cases: [Case] = [
        // The file and its top level
        Case("empty", "", [#"1:1: file is empty; expected sources, destinations and routes"#]),
        Case("syntax", "sources: [\n", [#"2:1: YAML syntax error: did not find expected node content"#]),
        Case("tableNotMapping", "- a\n- b\n", [#"1:1: routing table must be a mapping"#]),
        Case("missingSections", "sources: {}\n", [
            #"1:1: routing table: missing required key 'destinations'"#,
            #"1:1: routing table: missing required key 'routes'"#,
        ]),
        Case("unknownTopKey", "sources: {}\ndestinations: {}\nroutes: []\nextra: 1\n",
             [#"4:1: routing table: unknown key 'extra' (allowed: destinations, routes, sources, version)"#]),
        Case("complexKey", "? [a]\n: 1\nsources: {}\ndestinations: {}\nroutes: []\n", [#"1:3: routing table: keys must be plain names"#]),
        Case("duplicateTopKey", "sources: {}\nsources: {}\ndestinations: {}\nroutes: []\n", [#"1:1: duplicate keys in mapping: sources"#]),
        Case("versionNotInt", "version: one\nsources: {}\ndestinations: {}\nroutes: []\n", [#"1:10: version must be an integer"#]),
        Case("version2", "version: 2\nsources: {}\ndestinations: {}\nroutes: []\n", [#"1:10: version: only version 1 is supported (got 2)"#]),
        // Sources
        Case("sourcesList", sources("[]"), [#"1:10: sources must be a mapping of names to settings"#]),
        Case("emptyName", sources("{'': {kind: adobe-run, path: /s}}"), [#"1:11: sources: names must be non-empty strings"#]),
        // Yams refuses a repeated key while composing, before the loader sees it.
        Case("duplicateName", sources("{s: {kind: adobe-run, path: /s}, s: {kind: adobe-run, path: /t}}"), [#"1:11: duplicate keys in mapping: s"#]),
        Case("sourceNotMapping", sources("{s: x}"), [#"1:14: source 's' must be a mapping"#]),
        Case("unknownKey", source("colour: blue"),
             [#"1:42: source 's': unknown key 'colour' (allowed: auth, dedupeKey, enums, export, friendlyIdMaxLength, kind, maxBodyBytes, path, required)"#]),
        Case("missingKind", sources("{s: {path: /s}}"), [#"1:14: source 's': missing required key 'kind'"#]),
        Case("missingPath", sources("{s: {kind: adobe-run}}"), [#"1:14: source 's': missing required key 'path'"#]),
        Case("unknownKind", sources("{s: {kind: nope, path: /s}}"),
             [#"1:21: source 's'.kind: unknown kind 'nope' (allowed: sitecore-export, adobe-run, adobe-operation)"#]),
        Case("kindNotString", sources("{s: {kind: [a], path: /s}}"), [#"1:21: source 's'.kind must be a string"#]),
        Case("kindEmpty", sources("{s: {kind: '', path: /s}}"), [#"1:21: source 's'.kind must not be empty"#]),
        Case("relativePath", sources("{s: {kind: adobe-run, path: hooks}}"),
             [#"1:38: source 's'.path must be an absolute URL path such as /hooks/sitecore (got 'hooks')"#]),
        Case("pathWithSpace", sources("{s: {kind: adobe-run, path: '/a b'}}"),
             [#"1:38: source 's'.path must be an absolute URL path such as /hooks/sitecore (got '/a b')"#]),
        Case("pathWithQuery", sources("{s: {kind: adobe-run, path: '/a?b'}}"),
             [#"1:38: source 's'.path must be an absolute URL path such as /hooks/sitecore (got '/a?b')"#]),
        Case("reservedPath", sources("{s: {kind: adobe-run, path: /metrics}}"),
             [#"1:38: source 's'.path '/metrics' is reserved for operations endpoints"#]),
        Case("pathUsedTwice", sources("{a: {kind: adobe-run, path: /x}, b: {kind: adobe-operation, path: /x}}"),
             [#"1:76: source 'b'.path '/x' is already used by source 'a'"#]),
        Case("maxBodyZero", source("maxBodyBytes: 0"),
             [#"1:56: source 's'.maxBodyBytes must be a positive size such as 1048576, 512KiB or 1MiB (got '0')"#]),
        Case("maxBodyWords", source("maxBodyBytes: lots"),
             [#"1:56: source 's'.maxBodyBytes must be a positive size such as 1048576, 512KiB or 1MiB (got 'lots')"#]),
        Case("maxBodyOverflow", source("maxBodyBytes: 99999999999GiB"),
             [#"1:56: source 's'.maxBodyBytes must be a positive size such as 1048576, 512KiB or 1MiB (got '99999999999GiB')"#]),
        Case("toleranceOverflow", source("auth: {type: standard-webhooks, secrets: [env:A], tolerance: 1e39s}"),
             [#"1:103: source 's'.auth.tolerance must be a duration such as 250ms, 10s, 5m or 24h (got '1e39s')"#]),
        Case("friendlyMaxZero", source("friendlyIdMaxLength: 0"), [#"1:63: source 's'.friendlyIdMaxLength must be between 1 and 4096 (got 0)"#]),
        Case("friendlyMaxText", source("friendlyIdMaxLength: x"), [#"1:63: source 's'.friendlyIdMaxLength must be an integer"#]),
        Case("enumNotEnumField", source("enums: {nope: [A]}"),
             [#"1:50: source 's'.enums: 'nope' is not an enum field of adobe-run (enum fields: details.stage, details.status, status)"#]),
        Case("enumEmpty", source("enums: {status: []}"), [#"1:58: source 's'.enums.status must list at least one value"#]),
        Case("enumLowercase", source("enums: {status: [ok, FINE]}"), [#"1:58: source 's'.enums.status: enum values must be uppercase (got 'ok')"#]),
        Case("enumsList", source("enums: [a]"), [#"1:49: source 's'.enums must be a mapping of names to settings"#]),
        Case("requiredUnknown", source("required: [runId, nope]"), [#"1:60: source 's'.required: 'nope' is not a field of adobe-run payloads"#]),
        Case("requiredMapping", source("required: {a: b}"), [#"1:52: source 's'.required must be a list of strings"#]),
        Case("requiredNested", source("required: [[a]]"), [#"1:53: source 's'.required[0] must be a string"#]),
        Case("dedupeEmpty", source("dedupeKey: []"), [#"1:53: source 's'.dedupeKey must name at least one field"#]),
        // Source auth
        Case("authNoType", source("auth: {token: env:T}"), [#"1:48: source 's'.auth: missing required key 'type'"#]),
        Case("authNotApplying", source("auth: {type: basic, username: u, password: env:P, token: env:T}"),
             [#"1:99: source 's'.auth: 'token' does not apply to auth type 'basic'"#]),
        Case("authBasicNoPassword", source("auth: {type: basic, username: u}"), [#"1:48: source 's'.auth: basic auth needs username and password"#]),
        Case("bearerNoToken", source("auth: {type: bearer}"), [#"1:48: source 's'.auth: bearer auth needs token"#]),
        Case("inlineToken", source("auth: {type: bearer, token: hunter2}"),
             [#"1:70: source 's'.auth.token: secrets must be referenced as env:NAME or file:PATH, never written inline"#]),
        Case("badEnvName", source("auth: {type: basic, username: u, password: 'env:'}"),
             [#"1:85: source 's'.auth.password: env: reference needs a variable name of letters, digits and _ (got "env:")"#]),
        Case("webhooksNoSecrets", source("auth: {type: standard-webhooks}"),
             [#"1:48: source 's'.auth: standard-webhooks auth needs secrets (a list of env:/file: references)"#]),
        Case("webhooksBadSecret", source("auth: {type: standard-webhooks, secrets: [env:A, 'file:']}"),
             [#"1:91: source 's'.auth.secrets[1]: file: reference needs a path"#]),
        Case("webhooksTolerance", source("auth: {type: standard-webhooks, secrets: [env:A], tolerance: soon}"),
             [#"1:103: source 's'.auth.tolerance must be a duration such as 250ms, 10s, 5m or 24h (got 'soon')"#]),
        Case("unknownAuth", source("auth: {type: hmac}"),
             [#"1:55: source 's'.auth.type: unknown auth type 'hmac' (allowed: none, basic, bearer, standard-webhooks)"#]),
        Case("authNoneWithToken", source("auth: {type: none, token: env:T}"),
             [#"1:68: source 's'.auth: 'token' does not apply to auth type 'none'"#]),
        Case("authUnknownKey", source("auth: {type: bearer, token: env:T, colour: x}"),
             [#"1:77: source 's'.auth: unknown key 'colour' (allowed: password, secrets, token, tolerance, type, username)"#]),
        // Destinations
        Case("destinationsList", destinations("[]"), [#"2:15: destinations must be a mapping of names to settings"#]),
        Case("destinationNotMapping", destinations("{k: x}"), [#"2:19: destination 'k' must be a mapping"#]),
        Case("unknownType", destinations("{k: {type: sqs}}"),
             [#"2:26: destination 'k'.type: unknown destination type 'sqs' (allowed: kafka, http)"#]),
        Case("missingType", destinations("{k: {topic: t}}"), [#"2:19: destination 'k': missing required key 'type'"#]),
        Case("kafkaMissing", destinations("{k: {type: kafka}}"), [
            #"2:19: destination 'k': missing required key 'brokers' for a kafka destination"#,
            #"2:19: destination 'k': missing required key 'topic' for a kafka destination"#,
        ]),
        Case("notHostPort", destinations("{k: {type: kafka, brokers: host, topic: t}}"),
             [#"2:42: destination 'k'.brokers: 'host' is not host:port (or use 'embedded' / 'mock:N')"#]),
        Case("badPort", destinations("{k: {type: kafka, brokers: 'a:1,b:x', topic: t}}"),
             [#"2:42: destination 'k'.brokers: 'b:x' is not host:port (or use 'embedded' / 'mock:N')"#]),
        Case("mockZero", destinations("{k: {type: kafka, brokers: 'mock:0', topic: t}}"),
             [#"2:42: destination 'k'.brokers: 'mock:N' needs a positive broker count"#]),
        Case("badTopic", destinations("{k: {type: kafka, brokers: embedded, topic: 'bad topic!'}}"),
             [#"2:59: destination 'k'.topic: 'bad topic!' is not a valid Kafka topic name (letters, digits, . _ -, at most 249)"#]),
        Case("badDeadLetterTopic", destinations("{k: {type: kafka, brokers: embedded, topic: t, deadLetterTopic: '..'}}"),
             [#"2:79: destination 'k'.deadLetterTopic: '..' is not a valid Kafka topic name"#]),
        Case("bootstrapServers", destinations("{k: {type: kafka, brokers: embedded, topic: t, properties: {bootstrap.servers: x}}}"),
             [#"2:94: destination 'k'.properties: set bootstrap.servers through 'brokers'"#]),
        Case("httpKeyOnKafka", destinations("{k: {type: kafka, brokers: embedded, topic: t, url: 'http://x'}}"),
             [#"2:62: destination 'k': unknown key 'url' (allowed: brokers, deadLetterTopic, delivery, properties, topic, type)"#]),
        Case("kafkaKeyOnHTTP", destinations("{h: {type: http, url: 'http://x', topic: t}}"),
             [#"2:49: destination 'h': unknown key 'topic' (allowed: breaker, caFile, concurrency, connectTimeout, delivery, headers, method, proxy, retryOnStatus, signingSecret, timeout, type, url)"#]),
        Case("httpNoURL", destinations("{h: {type: http}}"), [#"2:19: destination 'h': missing required key 'url' for an http destination"#]),
        Case("badURL", destinations("{h: {type: http, url: not-a-url}}"),
             [#"2:37: destination 'h'.url must be an absolute http or https URL (got 'not-a-url')"#]),
        Case("badMethod", destinations("{h: {type: http, url: 'http://x', method: GET}}"),
             [#"2:57: destination 'h'.method must be POST, PUT or PATCH (got 'GET')"#]),
        Case("badTimeout", destinations("{h: {type: http, url: 'http://x', timeout: soon, connectTimeout: -1s}}"), [
            #"2:58: destination 'h'.timeout must be a duration such as 250ms, 10s, 5m or 24h (got 'soon')"#,
            #"2:80: destination 'h'.connectTimeout must be a duration such as 250ms, 10s, 5m or 24h (got '-1s')"#,
        ]),
        Case("concurrencyZero", destinations("{h: {type: http, url: 'http://x', concurrency: 0}}"),
             [#"2:62: destination 'h'.concurrency must be between 1 and 1024 (got 0)"#]),
        Case("retryOnStatusScalar", destinations("{h: {type: http, url: 'http://x', retryOnStatus: 503}}"),
             [#"2:64: destination 'h'.retryOnStatus must be a list of HTTP status codes"#]),
        Case("retryOnStatusRange", destinations("{h: {type: http, url: 'http://x', retryOnStatus: [503, 99]}}"),
             [#"2:70: destination 'h'.retryOnStatus[1] must be between 100 and 599 (got 99)"#]),
        Case("breakerFailures", destinations("{h: {type: http, url: 'http://x', breaker: {failures: 0, coolDown: x, colour: red}}}"), [
            #"2:69: destination 'h'.breaker.failures must be between 1 and 10000 (got 0)"#,
            #"2:82: destination 'h'.breaker.coolDown must be a duration such as 250ms, 10s, 5m or 24h (got 'x')"#,
            #"2:85: destination 'h'.breaker: unknown key 'colour' (allowed: coolDown, failures)"#,
        ]),
        Case("inlineSigningSecret", destinations("{h: {type: http, url: 'http://x', signingSecret: s3cret}}"),
             [#"2:64: destination 'h'.signingSecret: secrets must be referenced as env:NAME or file:PATH, never written inline"#]),
        Case("headerNotString", destinations("{h: {type: http, url: 'http://x', headers: {x-a: [b]}}}"),
             [#"2:64: destination 'h'.headers.x-a must be a string"#]),
        Case("maxAttemptsZero", destinations("{h: {type: http, url: 'http://x', delivery: {maxAttempts: 0}}}"),
             [#"2:73: destination 'h'.delivery.maxAttempts must be between 1 and 1000000 (got 0)"#]),
        Case("maxAgeText", destinations("{h: {type: http, url: 'http://x', delivery: {maxAge: forever}}}"),
             [#"2:68: destination 'h'.delivery.maxAge must be a duration such as 250ms, 10s, 5m or 24h (got 'forever')"#]),
        Case("backoffOrder", destinations("{h: {type: http, url: 'http://x', delivery: {maxBackoff: 1s, initialBackoff: 2s}}}"),
             [#"2:72: destination 'h'.delivery.maxBackoff must not be shorter than initialBackoff"#]),
        Case("deliveryUnknownKey", destinations("{h: {type: http, url: 'http://x', delivery: {retries: 3}}}"),
             [#"2:60: destination 'h'.delivery: unknown key 'retries' (allowed: initialBackoff, maxAge, maxAttempts, maxBackoff)"#]),
        // Routes
        Case("routesMapping", routes("{}", list: false), [#"3:9: routes must be a list"#]),
        Case("routeNotMapping", routes("x"), [#"3:10: routes[0] must be a mapping"#]),
        Case("routeNoName", routes("{source: s, to: k}"), [#"3:10: routes[0]: missing required key 'name'"#]),
        Case("routeNameList", routes("{name: [a], source: s, to: k}"), [#"3:17: routes[0].name must be a string"#]),
        Case("duplicateRouteName", routes("{name: r, source: s, to: k}, {name: r, source: s, to: k}"),
             [#"3:46: routes[1].name: duplicate route name 'r'"#]),
        Case("unknownSource", routes("{name: r, source: [s, ghost], to: k}"),
             [#"3:32: route 'r'.source: unknown source 'ghost' (defined: n, s, x)"#]),
        Case("emptyTo", routes("{name: r, source: s, to: []}"), [#"3:35: route 'r'.to: name at least one destination"#]),
        Case("unknownDestination", routes("{name: r, source: s, to: [k, nowhere]}"),
             [#"3:39: route 'r'.to: unknown destination 'nowhere' (defined: k)"#]),
        Case("routeUnknownKey", routes("{name: r, source: s, to: k, colour: x}"),
             [#"3:38: routes[0]: unknown key 'colour' (allowed: export, fetchExport, headers, key, match, name, source, to)"#]),
        Case("matchMapping", routes("{name: r, source: s, to: k, match: {field: a}}"),
             [#"3:45: route 'r'.match must be a list of predicates ({field, equals|in|prefix|regex|exists})"#]),
        Case("predicateNoTest", routes("{name: r, source: s, to: k, match: [{field: status}]}"),
             [#"3:46: route 'r'.match[0]: give exactly one of equals, in, prefix, regex, exists (got none)"#]),
        Case("predicateTwoTests", routes("{name: r, source: s, to: k, match: [{field: status, equals: A, prefix: B}]}"),
             [#"3:46: route 'r'.match[0]: give exactly one of equals, in, prefix, regex, exists (got equals, prefix)"#]),
        Case("predicateNoField", routes("{name: r, source: s, to: k, match: [{equals: A}]}"),
             [#"3:46: route 'r'.match[0]: missing required key 'field'"#]),
        Case("predicateUnknownKey", routes("{name: r, source: s, to: k, match: [{field: status, like: A}]}"), [
            #"3:46: route 'r'.match[0]: give exactly one of equals, in, prefix, regex, exists (got none)"#,
            #"3:62: route 'r'.match[0]: unknown key 'like' (allowed: equals, exists, field, in, prefix, regex)"#,
        ]),
        Case("badFieldPath", routes("{name: r, source: s, to: k, match: [{field: 'a b', exists: true}]}"),
             [#"3:54: route 'r'.match[0].field: 'a b' is not a field path (use name or name.sub)"#]),
        Case("badRegex", routes("{name: r, source: s, to: k, match: [{field: status, regex: '([unclosed'}]}"),
             [#"3:69: route 'r'.match[0].regex: invalid regular expression '([unclosed'"#]),
        Case("equalsList", routes("{name: r, source: s, to: k, match: [{field: status, equals: [A]}]}"),
             [#"3:70: route 'r'.match[0].equals must be a string"#]),
        Case("inMapping", routes("{name: r, source: s, to: k, match: [{field: status, in: {a: b}}]}"),
             [#"3:66: route 'r'.match[0].in must be a list of strings"#]),
        Case("emptyPrefix", routes("{name: r, source: s, to: k, match: [{field: status, prefix: ''}]}"),
             [#"3:70: route 'r'.match[0].prefix must not be empty"#]),
        Case("existsMaybe", routes("{name: r, source: s, to: k, match: [{field: status, exists: maybe}]}"),
             [#"3:70: route 'r'.match[0].exists must be true or false"#]),
        Case("badKey", routes("{name: r, source: s, to: k, key: '{{a'}"), [#"3:43: route 'r'.key: unclosed '{{' in template "{{a""#]),
        Case("badHeaderTemplate", routes("{name: r, source: s, to: k, headers: {x-a: 'b}}'}}"),
             [#"3:53: route 'r'.headers.x-a: '}}' without '{{' in template "b}}""#]),
        Case("headersList", routes("{name: r, source: s, to: k, headers: [a]}"),
             [#"3:47: route 'r'.headers must be a mapping of names to settings"#]),
        Case("fetchExportMaybe", routes("{name: r, source: s, to: k, fetchExport: maybe}"), [#"3:51: route 'r'.fetchExport must be true or false"#]),
        Case("exportWithoutFetch", routes("{name: r, source: x, to: k, export: {format: csv}}"),
             [#"3:46: route 'r'.export applies only with fetchExport: true"#]),
        Case("fetchFromAdobe", routes("{name: r, source: s, to: k, fetchExport: true}"),
             [#"3:10: route 'r': fetchExport needs sources whose events carry apiUrl (kind sitecore-export); 's' is adobe-run"#]),
        Case("fetchWithoutExportSection", routes("{name: r, source: n, to: k, fetchExport: true}"),
             [#"3:10: route 'r': fetchExport needs an export: section (allowHosts, credentials) on source 'n'"#]),
        // A source's export section
        Case("exportNoHosts", exportSource("{}"), [#"1:56: source 'x'.export: missing required key 'allowHosts'"#]),
        Case("exportEmptyHosts", exportSource("{allowHosts: []}"),
             [#"1:69: source 'x'.export.allowHosts must name at least one host (exact, or *.domain)"#]),
        Case("exportBadHost", exportSource("{allowHosts: ['bad host', '*.ok.example']}"),
             [#"1:69: source 'x'.export.allowHosts: 'bad host' is not a host name or *.domain pattern"#]),
        Case("plainNotAllowed", exportSource("{allowHosts: [h.example], allowPlainHTTP: [o.example]}"),
             [#"1:98: source 'x'.export.allowPlainHTTP: 'o.example' must also be listed in allowHosts"#]),
        Case("privateNotAllowed", exportSource("{allowHosts: [h.example], allowPrivateAddresses: [o.example]}"),
             [#"1:105: source 'x'.export.allowPrivateAddresses: 'o.example' must also be listed in allowHosts"#]),
        Case("exportUnknownKey", exportSource("{allowHosts: [h.example], colour: x}"),
             [#"1:82: source 'x'.export: unknown key 'colour' (allowed: allowHosts, allowPlainHTTP, allowPrivateAddresses, caFile, credentials, maxFileBytes, maxRedirects, pollDeadline, pollInitialDelay, pollMaxDelay, stallTimeout)"#]),
        Case("oauthMissing", exportSource("{allowHosts: [h.example], credentials: {type: oauth2, clientId: x}}"),
             [#"1:95: source 'x'.export.credentials: credentials type 'oauth2' needs tokenUrl, clientSecret"#]),
        Case("bearerWithUsername", exportSource("{allowHosts: [h.example], credentials: {type: bearer, token: env:T, username: u}}"),
             [#"1:134: source 'x'.export.credentials: 'username' does not apply to credentials type 'bearer'"#]),
        Case("credentialsBasicNoPassword", exportSource("{allowHosts: [h.example], credentials: {type: basic, username: u}}"),
             [#"1:95: source 'x'.export.credentials: credentials type 'basic' needs password"#]),
        Case("credentialsNoneWithToken", exportSource("{allowHosts: [h.example], credentials: {type: none, token: env:T}}"),
             [#"1:115: source 'x'.export.credentials: 'token' does not apply to credentials type 'none'"#]),
        Case("tokenURLScheme", exportSource("{allowHosts: [h.example], credentials: {type: oauth2, tokenUrl: 'ftp://a', clientId: c, clientSecret: env:S}}"),
             [#"1:120: source 'x'.export.credentials.tokenUrl must be an absolute https URL (got 'ftp://a')"#]),
        Case("extraScope", exportSource("{allowHosts: [h.example], credentials: {type: oauth2, tokenUrl: 'https://a', clientId: c, clientSecret: env:S, extraParams: {scope: a, grant_type: b}}}"), [
            #"1:188: source 'x'.export.credentials.extraParams: 'scope' is set by the relay (use credentials.scope); name other form fields only"#,
            #"1:203: source 'x'.export.credentials.extraParams: 'grant_type' is set by the relay; name other form fields only"#,
        ]),
        Case("unknownCredentials", exportSource("{allowHosts: [h.example], credentials: {type: saml}}"),
             [#"1:102: source 'x'.export.credentials.type: unknown credentials type 'saml' (allowed: none, bearer, basic, oauth2)"#]),
        Case("credentialsNoType", exportSource("{allowHosts: [h.example], credentials: {token: env:T}}"),
             [#"1:95: source 'x'.export.credentials: missing required key 'type'"#]),
        Case("maxRedirects", exportSource("{allowHosts: [h.example], maxRedirects: 21}"),
             [#"1:96: source 'x'.export.maxRedirects must be between 0 and 20 (got 21)"#]),
        Case("maxFileBytes", exportSource("{allowHosts: [h.example], maxFileBytes: big}"),
             [#"1:96: source 'x'.export.maxFileBytes must be a positive size such as 1048576, 512KiB or 1MiB (got 'big')"#]),
        Case("pollOrder", exportSource("{allowHosts: [h.example], pollMaxDelay: 1s, pollInitialDelay: 2s}"),
             [#"1:96: source 'x'.export.pollMaxDelay must not be shorter than pollInitialDelay"#]),
        Case("pollInitialZero", exportSource("{allowHosts: [h.example], pollInitialDelay: 0s}"),
             [#"1:100: source 'x'.export.pollInitialDelay must be longer than zero"#]),
        Case("stallZero", exportSource("{allowHosts: [h.example], stallTimeout: 0}"),
             [#"1:96: source 'x'.export.stallTimeout must be longer than zero"#]),
        // A route's export section
        Case("exportList", exportRoute("[a]"), [#"3:65: route 'r'.export must be a mapping"#]),
        Case("unknownFormat", exportRoute("{format: xml}"),
             [#"3:74: route 'r'.export.format: unknown format 'xml' (allowed: jsonl, csv, json-array, json-object)"#]),
        Case("onMalformed", exportRoute("{onMalformed: maybe}"), [#"3:79: route 'r'.export.onMalformed: must be skip or fail (got 'maybe')"#]),
        Case("batchRecordsZero", exportRoute("{batchRecords: 0}"), [#"3:80: route 'r'.export.batchRecords must be between 1 and 100000 (got 0)"#]),
        Case("batchBytesZero", exportRoute("{batchBytes: 0}"),
             [#"3:78: route 'r'.export.batchBytes must be a positive size such as 1048576, 512KiB or 1MiB (got '0')"#]),
        Case("exportKey", exportRoute("{key: '{{a'}"), [#"3:71: route 'r'.export.key: unclosed '{{' in template "{{a""#]),
        Case("routeExportUnknownKey", exportRoute("{colour: x}"),
             [#"3:66: route 'r'.export: unknown key 'colour' (allowed: batchBytes, batchRecords, csv, format, key, onMalformed)"#]),
        Case("csvDelimiter", exportRoute("{csv: {delimiter: ':'}}"),
             [#"3:83: route 'r'.export.csv.delimiter must be one of ',' ';' '|' or tab (got ":")"#]),
        Case("csvNoColumns", exportRoute("{csv: {header: false}}"),
             [#"3:80: route 'r'.export.csv: header: false needs columns: [name, ...] naming every field in order"#]),
        Case("csvEmptyColumns", exportRoute("{csv: {header: false, columns: []}}"),
             [#"3:96: route 'r'.export.csv: header: false needs columns: [name, ...] naming every field in order"#]),
        Case("csvColumnsWithHeader", exportRoute("{csv: {columns: [a]}}"),
             [#"3:81: route 'r'.export.csv.columns applies only with header: false (a header row names the columns)"#]),
        Case("csvColumnTwice", exportRoute("{csv: {header: false, columns: [a, b, a]}}"), [#"3:96: route 'r'.export.csv.columns names "a" twice"#]),
        Case("csvForJSONLines", exportRoute("{format: jsonl, csv: {delimiter: '|'}}"),
             [#"3:86: route 'r'.export.csv applies only to CSV exports (format is jsonl)"#]),
        Case("csvHeaderMaybe", exportRoute("{csv: {header: maybe}}"), [#"3:80: route 'r'.export.csv.header must be true or false"#]),
        Case("csvUnknownKey", exportRoute("{csv: {quote: x}}"),
             [#"3:72: route 'r'.export.csv: unknown key 'quote' (allowed: columns, delimiter, header)"#]),
    ]

    @Test(arguments: cases)
    func reportsEveryMistakeAtItsPlace(_ c: Case) {
        switch RoutingTableLoader.load(yaml: c.yaml, file: "t.yaml") {
        case .success:
            Issue.record("\(c.name): the table loaded")
        case .failure(let failure):
            let actual = failure.errors.map { "\($0.line):\($0.column): \($0.message)" }
            #expect(actual == c.expected)
            #expect(failure.errors.allSatisfy { $0.file == "t.yaml" })
        }
    }
}
