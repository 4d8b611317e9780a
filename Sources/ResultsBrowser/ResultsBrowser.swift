import ExperimentReports
import ExperimentStore
import Foundation

/// The results browser: the pages of `privacy-lab ui`, rendered on the server from a results
/// store opened read-only.
///
/// Routes (all `GET`; `format=csv` exports a page's table as CSV, `format=html` the page as one
/// self-contained HTML file — inline CSS and SVG, images as data URIs, no links back):
///
/// | path | page |
/// |---|---|
/// | `/` | runs and their trials, filtered by `kind`, `name`, `run`, `param` and `metric` conditions (`TrialFilter`), with the metric `columns` asked for |
/// | `/trial?run=ID&index=N` | one trial: its run and spec, parameters, metrics with bootstrap intervals, figures and artifacts |
/// | `/compare?t=ID/N&t=…&plot=roc` | the selected trials' ROC curves overlaid (log-log), and their metrics side by side |
/// | `/compare?t=…&plot=metric&metric=M&parameter=P` | a metric against a parameter, a line per run (one line when each run gives one trial) |
///
/// `respond` is a pure function of the request and the store, so every page and every refusal is
/// tested without a socket; `ResultsServer` puts it behind HTTP. The browser serves no files:
/// it reads the database, and artifacts only through `ArtifactCache.verifiedData`, which reads
/// regular files inside the store's artifacts folder whose size and SHA-256 match their record.
public struct ResultsBrowser: Sendable {
    public let store: ResultStore

    /// The most runs a listing reads (`limit` may ask for fewer or more, up to this).
    public static let maximumRuns = 5000
    /// The most trial rows a listing shows (the page says when it stops there).
    public static let maximumRows = 5000
    /// The most trials a comparison takes.
    public static let maximumCompared = 64
    /// The metric columns a listing shows when none are asked for.
    public static let defaultColumns = "target.*accuracy *.auc *.tpr@0.001"

    public init(store: ResultStore) {
        self.store = store
    }

    /// The response to a request: a page, an export, or an error page with a 4xx (5xx when the
    /// store cannot be read). Never throws, never traps on input.
    public func respond(method: String, target: String) -> BrowserResponse {
        do {
            let request = try BrowserRequest(method: method, target: target)
            var response = try respond(to: request)
            if method == "HEAD" { response.body = [] }
            return response
        } catch {
            return BrowserResponse.error(error)
        }
    }

    /// The response to a parsed request.
    public func respond(to request: BrowserRequest) throws(BrowserError) -> BrowserResponse {
        let format = try Format(request.value("format"))
        switch request.path {
        case "/", "/runs": return try listing(request, format: format)
        case "/trial": return try trialPage(request, format: format)
        case "/compare": return try comparison(request, format: format)
        default: throw .notFound("no page at '\(request.path.count > 200 ? String(request.path.prefix(200)) + "…" : request.path)'")
        }
    }

    /// What a page is rendered as.
    enum Format: Equatable {
        case page, csv, html

        init(_ text: String?) throws(BrowserError) {
            switch text {
            case nil: self = .page
            case "csv": self = .csv
            case "html": self = .html
            case let other?: throw .badRequest("unknown format '\(other.prefix(40))' (csv or html)")
            }
        }

        var mode: PageMode { self == .html ? .exported : .served }
    }

    /// Runs a store read, turning its errors into the browser's.
    func read<T>(_ body: () throws(StoreError) -> T) throws(BrowserError) -> T {
        do { return try body() } catch {
            switch error {
            case let .notFound(_, what): throw .notFound(what)
            case let .ambiguous(_, prefix, matches): throw .badRequest("'\(prefix)' starts \(matches.count) run ids; give more of one")
            default: throw .store(error.description)
            }
        }
    }

    /// A page, or its export.
    func render(title: String, body: String, format: Format, fileName: String) -> BrowserResponse {
        let document = HTMLPage.document(title: title, body: body, mode: format.mode)
        var response = BrowserResponse(status: 200, contentType: "text/html; charset=utf-8", body: Array(document.utf8))
        if format == .html { response.headers.append(("Content-Disposition", "attachment; filename=\"\(fileName).html\"")) }
        return response
    }

    func csv(_ rows: [[String]], fileName: String) -> BrowserResponse {
        let text = rows.map { $0.map(ResultRendering.csvField).joined(separator: ",") }.joined(separator: "\n") + "\n"
        return BrowserResponse(status: 200, contentType: "text/csv; charset=utf-8", body: Array(text.utf8),
                               headers: [("Content-Disposition", "attachment; filename=\"\(fileName).csv\"")])
    }

    /// The links to a view's exports: the same query with `format=csv` or `format=html`.
    func exportLinks(_ request: BrowserRequest) -> String {
        let kept = request.query.filter { $0.name != "format" }.map { ($0.name, $0.value) }
        return "<span class=\"muted\">Export this view:</span> <a id=\"export-csv\" href=\"\(html(link(request.path, kept + [("format", "csv")])))\">CSV</a>"
            + " <a id=\"export-html\" href=\"\(html(link(request.path, kept + [("format", "html")])))\">HTML file</a>"
    }
}

/// A response: status, content type, body and extra headers.
public struct BrowserResponse: Sendable {
    public var status: Int
    public var contentType: String
    public var body: [UInt8]
    /// Headers beyond the content type and the security headers every response carries.
    public var headers: [(String, String)]

    public init(status: Int, contentType: String, body: [UInt8], headers: [(String, String)] = []) {
        self.status = status
        self.contentType = contentType
        self.body = body
        self.headers = headers
    }

    /// The body as text.
    public var text: String { String(decoding: body, as: UTF8.self) }

    /// The headers every response carries: no scripts, no resources from elsewhere, no framing,
    /// no sniffing, no referrer.
    public static let securityHeaders: [(String, String)] = [
        ("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"),
        ("X-Content-Type-Options", "nosniff"),
        ("X-Frame-Options", "DENY"),
        ("Referrer-Policy", "no-referrer"),
        ("Cache-Control", "no-store"),
    ]

    /// The page of an error: its status and one line saying what is wrong.
    public static func error(_ error: BrowserError) -> BrowserResponse {
        let titles = [400: "Bad request", 404: "Not found", 405: "Method not allowed", 414: "URI too long", 421: "Misdirected request",
                      500: "Store error"]
        let title = "\(error.status) \(titles[error.status] ?? "Error")"
        let body = "<h1>\(html(title))</h1>\n<p class=\"error\" id=\"error\">\(html(error.description))</p>\n"
        var response = BrowserResponse(status: error.status, contentType: "text/html; charset=utf-8",
                                       body: Array(HTMLPage.document(title: title, body: body, mode: .served).utf8))
        if case .methodNotAllowed = error { response.headers.append(("Allow", "GET, HEAD")) }
        return response
    }
}
