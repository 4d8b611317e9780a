internal import HTTPTypes
internal import Hummingbird
internal import Logging

/// The results browser behind HTTP/1.1 (Hummingbird): `privacy-lab ui`.
///
/// - Binds the address it is given, 127.0.0.1 unless told otherwise.
/// - Answers only `GET` and `HEAD`; any other method gets 405, a malformed request 400 (and the
///   connection closed), a request target over `BrowserRequest.maximumTargetLength` bytes 414,
///   and request headers are limited to `maximumHeaderBytes` in all.
/// - Refuses a `Host` that names another server (421), so a web page elsewhere cannot read the
///   results through a DNS name rebound to 127.0.0.1; listening on an unspecified address
///   (`0.0.0.0`, `::`) accepts any `Host`.
/// - Closes connections idle for `idleTimeout`.
/// - Serves no files: every response is a page `ResultsBrowser` renders from the store.
public struct ResultsServer: Sendable {
    public let browser: ResultsBrowser
    public let host: String
    /// The port to bind; 0 lets the system choose one (`onReady` is told which).
    public let port: Int

    /// The most bytes of request headers (the request line included) accepted.
    public static let maximumHeaderBytes = 16 * 1024
    /// Seconds after which an idle connection is closed.
    public static let idleTimeout: Int64 = 30

    public init(browser: ResultsBrowser, host: String = "127.0.0.1", port: Int = 8080) {
        self.browser = browser
        self.host = host
        self.port = port
    }

    /// Serves until the task is cancelled, or until SIGINT or SIGTERM when `stopOnSignals`;
    /// `onReady` is called with the bound port once the server listens.
    /// - Throws: when the address cannot be bound (in use, not a local address).
    public func run(stopOnSignals: Bool = true, onReady: @escaping @Sendable (Int) async -> Void) async throws {
        let browser = self.browser, boundHost = self.host
        let bound = BoundPort()
        let responder = CallbackResponder<BasicRequestContext> { request, _ in
            let answer: BrowserResponse
            if !Self.hostIsAllowed(request.head.authority, boundHost: boundHost, port: await bound.value) {
                answer = BrowserResponse.error(.misdirected(request.head.authority ?? ""))
            } else {
                answer = browser.respond(method: request.method.rawValue, target: request.head.path ?? "")
            }
            var fields = HTTPFields()
            fields[.init("Content-Type")!] = answer.contentType
            for (name, value) in BrowserResponse.securityHeaders + answer.headers {
                if let name = HTTPField.Name(name) { fields[name] = value }
            }
            return Response(status: .init(code: answer.status), headers: fields,
                            body: .init(byteBuffer: ByteBuffer(bytes: answer.body)))
        }
        var logger = Logger(label: "privacy-lab.ui")
        logger.logLevel = .error
        let app = Application(
            responder: responder,
            server: .http1(configuration: .init(
                idleTimeout: .seconds(Self.idleTimeout),
                httpDecoderConfiguration: .init(maxHeaderFieldSize: Self.maximumHeaderBytes, maxHeaderListSize: Self.maximumHeaderBytes,
                                                maxHeaderFieldCount: 100))),
            configuration: .init(address: .hostname(host, port: port), serverName: nil),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? 0
                await bound.set(port)
                await onReady(port)
            },
            logger: logger)
        if stopOnSignals {
            try await app.runService()
        } else {
            try await app.runService(gracefulShutdownSignals: [])
        }
    }

    /// Whether a request's `Host` (its authority) names this server: a loopback name or the bound
    /// host, with the bound port when a port is given. Any host passes when the server listens
    /// on an unspecified address; a request without a `Host` (HTTP/1.0) passes.
    public static func hostIsAllowed(_ authority: String?, boundHost: String, port: Int) -> Bool {
        guard let authority, !authority.isEmpty else { return true }
        if ["0.0.0.0", "::", "[::]"].contains(boundHost) { return true }
        let name: Substring, portText: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return false }
            name = authority[...close]
            let rest = authority[authority.index(after: close)...]
            guard rest.isEmpty || rest.hasPrefix(":") else { return false }
            portText = rest.isEmpty ? nil : rest.dropFirst()
        } else if let colon = authority.lastIndex(of: ":") {
            (name, portText) = (authority[..<colon], authority[authority.index(after: colon)...])
        } else {
            (name, portText) = (authority[...], nil)
        }
        if let portText, Int(portText) != port { return false }
        if portText == nil && port != 80 { return false }
        let host = name.lowercased()
        let bound = boundHost.lowercased()
        return ["127.0.0.1", "localhost", "[::1]"].contains(host) || host == bound || host == "[\(bound)]"
    }
}

/// The port the server bound, known once it listens.
private actor BoundPort {
    var value = 0
    func set(_ port: Int) { value = port }
}
