internal import HTTPTypes
internal import Hummingbird
internal import Logging

/// The prediction service behind HTTP/1.1 (Hummingbird): `privacy-lab serve`.
///
/// Binds the address it is given (127.0.0.1 unless told otherwise); request bodies over
/// `maximumBodyBytes` get 413 without being read further, headers are limited to
/// `maximumHeaderBytes`, idle connections close after `idleTimeout` seconds. Every answer comes
/// from `ModelService.respond`.
public struct ModelServer: Sendable {
    public let service: ModelService
    public let host: String
    public let port: Int
    public static let maximumBodyBytes = 8 << 20
    public static let maximumHeaderBytes = 16 * 1024
    public static let idleTimeout: Int64 = 30

    public init(service: ModelService, host: String = "127.0.0.1", port: Int = 8081) {
        self.service = service
        self.host = host
        self.port = port
    }

    /// Serves until the task is cancelled, or until SIGINT or SIGTERM when `stopOnSignals`;
    /// `onReady` is called with the bound port once the server listens.
    public func run(stopOnSignals: Bool = true, onReady: @escaping @Sendable (Int) async -> Void) async throws {
        let service = self.service
        let responder = CallbackResponder<BasicRequestContext> { request, _ in
            var body: [UInt8] = []
            let answer: ServiceResponse
            do {
                let buffer = try await request.body.collect(upTo: Self.maximumBodyBytes)
                body = Array(buffer.readableBytesView)
                answer = await service.respond(ServiceRequest(method: request.method.rawValue, path: request.head.path ?? "",
                                                              authorization: request.headers[.authorization], body: body))
            } catch {
                answer = .error(413, "the body is larger than \(Self.maximumBodyBytes) bytes")
            }
            var fields = HTTPFields()
            for (name, value) in answer.headers.sorted(by: { $0.key < $1.key }) {
                if let name = HTTPField.Name(name) { fields[name] = value }
            }
            fields[.init("X-Content-Type-Options")!] = "nosniff"
            fields[.init("Cache-Control")!] = "no-store"
            return Response(status: .init(code: answer.status), headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: answer.body)))
        }
        var logger = Logger(label: "privacy-lab.serve")
        logger.logLevel = .error
        let app = Application(
            responder: responder,
            server: .http1(configuration: .init(
                idleTimeout: .seconds(Self.idleTimeout),
                httpDecoderConfiguration: .init(maxHeaderFieldSize: Self.maximumHeaderBytes, maxHeaderListSize: Self.maximumHeaderBytes,
                                                maxHeaderFieldCount: 100))),
            configuration: .init(address: .hostname(host, port: port), serverName: nil),
            onServerRunning: { channel in await onReady(channel.localAddress?.port ?? 0) },
            logger: logger)
        if stopOnSignals {
            try await app.runService()
        } else {
            try await app.runService(gracefulShutdownSignals: [])
        }
    }
}
